import { Global, Module } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config';
import { MetricsApiController } from './metrics-api.controller';
import { MetricsApiService } from './metrics-api.service';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './registry';
import { SeriesRepository } from './series.repository';

/** Vitals' own /metrics (its registry is global, for every module's metrics) and the API over scraped samples. */
@Global()
@Module({
  controllers: [MetricsController, MetricsApiController],
  providers: [
    {
      provide: MetricsRegistry,
      useFactory: (config: Config) => new MetricsRegistry(config.otlpEndpoint !== undefined),
      inject: [CONFIG],
    },
    SeriesRepository,
    MetricsApiService,
  ],
  exports: [MetricsRegistry],
})
export class MetricsModule {}
