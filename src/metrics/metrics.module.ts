import { Global, Module } from '@nestjs/common';
import { MetricsApiController } from './metrics-api.controller';
import { MetricsApiService } from './metrics-api.service';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './registry';
import { SeriesRepository } from './series.repository';

/** Vitals' own /metrics (its registry is global, for every module's metrics) and the API over scraped samples. */
@Global()
@Module({
  controllers: [MetricsController, MetricsApiController],
  providers: [MetricsRegistry, SeriesRepository, MetricsApiService],
  exports: [MetricsRegistry],
})
export class MetricsModule {}
