import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ChecksService,
  type CheckNowResult,
  type CheckPage,
  type ListChecksQuery,
  type TargetSummary,
} from './checks.service';

@Controller('api/v1')
export class ChecksController {
  constructor(private readonly service: ChecksService) {}

  @Get('checks')
  listChecks(@Query() query: ListChecksQuery): Promise<CheckPage> {
    return this.service.listChecks(query);
  }

  @Get('targets/:id/summary')
  getTargetSummary(@Param('id') id: string, @Query() query: { from?: string; to?: string }): Promise<TargetSummary> {
    return this.service.getTargetSummary(id, query);
  }

  @Post('targets/:id/check')
  @HttpCode(200)
  checkTarget(@Param('id') id: string): Promise<CheckNowResult> {
    return this.service.checkTarget(id);
  }
}
