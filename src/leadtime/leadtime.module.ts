import { Module } from '@nestjs/common';
import { LeadtimeSyncService } from './leadtime-sync.service';
import { LeadtimeController } from './leadtime.controller';
import { LeadtimeRepository } from './leadtime.repository';
import { LeadtimeService } from './leadtime.service';

@Module({
  controllers: [LeadtimeController],
  providers: [LeadtimeRepository, LeadtimeService, LeadtimeSyncService],
})
export class LeadtimeModule {}
