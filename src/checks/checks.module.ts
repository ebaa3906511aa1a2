import { Module } from '@nestjs/common';
import { CheckerModule } from '../checker/checker.module';
import { TargetsModule } from '../targets/targets.module';
import { ChecksController } from './checks.controller';
import { ChecksRepository } from './checks.repository';
import { ChecksService } from './checks.service';

@Module({
  imports: [CheckerModule, TargetsModule],
  controllers: [ChecksController],
  providers: [ChecksRepository, ChecksService],
})
export class ChecksModule {}
