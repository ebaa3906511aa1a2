import { Body, Controller, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import type { components } from '../generated/openapi';
import type { LeadtimeFilter } from './leadtime-filter';
import { LeadtimeSyncService } from './leadtime-sync.service';
import { LeadtimeService, toSyncRun, type LeadtimeUpsert } from './leadtime.service';

type Schemas = components['schemas'];

@Controller('api/v1/leadtime')
export class LeadtimeController {
  constructor(
    private readonly service: LeadtimeService,
    private readonly sync: LeadtimeSyncService,
  ) {}

  @Post('sync')
  @HttpCode(202)
  async startLeadtimeSync(@Body() body?: { full?: boolean }): Promise<Schemas['SyncRun']> {
    return toSyncRun(await this.sync.start('api', body?.full ?? false));
  }

  @Get('runs')
  listLeadtimeRuns(@Query() query: { limit?: number; cursor?: string }): Promise<Schemas['SyncRunPage']> {
    return this.service.listRuns(query);
  }

  @Get('issues')
  listLeadtimeIssues(
    @Query() query: LeadtimeFilter & { limit?: number; cursor?: string },
  ): Promise<Schemas['LeadtimeIssuePage']> {
    return this.service.listIssues(query);
  }

  @Put('issues')
  upsertLeadtimeIssues(
    @Body() body: LeadtimeUpsert | string,
    @Query('source') source?: string,
  ): Promise<Schemas['LeadtimeUpsertResult']> {
    return this.service.upsertIssues(body, source);
  }

  @Get('percentiles')
  getLeadtimePercentiles(@Query() query: LeadtimeFilter & { p?: string }): Promise<Schemas['LeadtimePercentiles']> {
    return this.service.percentiles(query);
  }

  @Get('distribution')
  getLeadtimeDistribution(
    @Query() query: LeadtimeFilter & { bucket?: string },
  ): Promise<Schemas['LeadtimeDistribution']> {
    return this.service.distribution(query);
  }

  @Get('throughput')
  getLeadtimeThroughput(
    @Query() query: LeadtimeFilter & { groupBy?: 'sprint' | 'quarter' | 'week' },
  ): Promise<Schemas['LeadtimeThroughput']> {
    return this.service.throughput(query);
  }
}
