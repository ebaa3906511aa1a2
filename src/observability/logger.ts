import type { LoggerService } from '@nestjs/common';
import winston from 'winston';
import { redactField } from './redact';
import { activeTraceIds } from './tracing';

export type Logger = winston.Logger;

/** Redacts secrets from every field and adds the active span's trace_id and span_id. */
const enrich = winston.format((info) => {
  const fields = info as Record<string, unknown>;
  for (const key of Object.keys(fields)) fields[key] = redactField(key, fields[key]);
  const ids = activeTraceIds();
  if (ids) Object.assign(info, ids);
  return info;
});

export interface LoggerOptions {
  /** Also write to this file (Promtail tails it). */
  file?: string;
  /** Instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
}

/** JSON lines, one object per event, to stdout (or `destination`) and to `file` when given. */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const transports: winston.transport[] = [
    new winston.transports.Stream({ stream: options.destination ?? process.stdout }),
  ];
  // Rotated at 50 MB, five files kept: a long-running instance must not fill its log volume.
  if (options.file) {
    transports.push(
      new winston.transports.File({ filename: options.file, maxsize: 50 * 1024 * 1024, maxFiles: 5, tailable: true }),
    );
  }
  return winston.createLogger({
    level,
    format: winston.format.combine(enrich(), winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'vitals' },
    transports,
  });
}

/** Lets Nest's own messages go through the same logger. */
export class NestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    // Nest's start-up chatter (module and route lists) is noise at info level.
    this.logger.debug(String(message), { context });
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error(String(message), { context, trace });
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn(String(message), { context });
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug(String(message), { context });
  }
  verbose(message: unknown, context?: string): void {
    this.logger.debug(String(message), { context });
  }
}

export const LOGGER = Symbol('LOGGER');
