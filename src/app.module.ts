import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CONFIG, type Config } from './config/config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { LOGGER, type Logger } from './observability/logger';
import { OpenApiModule } from './openapi/openapi.module';
import { ProblemFilter } from './problem/problem.filter';
import { RESOLVER, systemResolver, type Resolver } from './security/ssrf';
import { CheckerModule } from './checker/checker.module';
import { LeadtimeModule } from './leadtime/leadtime.module';
import { ChecksModule } from './checks/checks.module';
import { TargetsModule } from './targets/targets.module';

/** What differs between one application instance and another besides the configuration. */
export interface AppOptions {
  /** DNS look-ups for the SSRF check; the system resolver by default. */
  resolver?: Resolver;
}

/** The validated configuration and the logger, available everywhere. */
@Global()
@Module({})
class CoreModule {
  static with(config: Config, logger: Logger, options: AppOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: RESOLVER, useValue: options.resolver ?? systemResolver },
      ],
      exports: [CONFIG, LOGGER, RESOLVER],
    };
  }
}

@Module({})
export class AppModule {
  static with(config: Config, logger: Logger, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.with(config, logger, options),
        DatabaseModule,
        HealthModule,
        MetricsModule,
        OpenApiModule,
        TargetsModule,
        CheckerModule,
        ChecksModule,
        LeadtimeModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ProblemFilter }],
    };
  }
}
