import { Controller, Get, Query } from '@nestjs/common';
import { MetricsApiService, type SampleResult, type SeriesPage, type SeriesQuery } from './metrics-api.service';

@Controller('api/v1/metrics')
export class MetricsApiController {
  constructor(private readonly service: MetricsApiService) {}

  @Get()
  getMetricSamples(@Query() query: SeriesQuery & { from?: string; to?: string }): Promise<SampleResult> {
    return this.service.getMetricSamples(query);
  }

  @Get('names')
  listMetricNames(
    @Query() query: { targetId?: string; prefix?: string; limit?: number },
  ): Promise<{ items: string[] }> {
    return this.service.listMetricNames(query);
  }

  @Get('series')
  listSeries(@Query() query: SeriesQuery): Promise<SeriesPage> {
    return this.service.listSeries(query);
  }
}
