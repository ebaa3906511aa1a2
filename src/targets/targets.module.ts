import { Module } from '@nestjs/common';
import { systemResolver } from '../security/ssrf';
import { TargetsFileService } from './targets-file.service';
import { TargetsController } from './targets.controller';
import { TargetsRepository } from './targets.repository';
import { RESOLVER, TargetsService } from './targets.service';

@Module({
  controllers: [TargetsController],
  providers: [TargetsRepository, TargetsService, TargetsFileService, { provide: RESOLVER, useValue: systemResolver }],
  exports: [TargetsService, TargetsRepository],
})
export class TargetsModule {}
