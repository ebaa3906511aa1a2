import { Module } from '@nestjs/common';
import { TargetsModule } from '../targets/targets.module';
import { CheckerMetrics } from './checker-metrics';
import { CheckerService } from './checker.service';

@Module({
  imports: [TargetsModule],
  providers: [CheckerMetrics, CheckerService],
  exports: [CheckerService],
})
export class CheckerModule {}
