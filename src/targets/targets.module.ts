import { Module } from '@nestjs/common';
import { TargetsFileService } from './targets-file.service';
import { TargetsController } from './targets.controller';
import { TargetsRepository } from './targets.repository';
import { TargetsService } from './targets.service';

@Module({
  controllers: [TargetsController],
  providers: [TargetsRepository, TargetsService, TargetsFileService],
  exports: [TargetsService, TargetsRepository],
})
export class TargetsModule {}
