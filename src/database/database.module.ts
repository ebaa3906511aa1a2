import { Global, Module } from '@nestjs/common';
import { Database } from './database.service';
import { RetentionService } from './retention.service';

@Global()
@Module({ providers: [Database, RetentionService], exports: [Database, RetentionService] })
export class DatabaseModule {}
