import { Controller, Get } from '@nestjs/common';
import { Database } from '../database/database.service';
import { ProblemException } from '../problem/problem';
import { VERSION } from '../version';

@Controller()
export class HealthController {
  constructor(private readonly db: Database) {}

  /** Liveness: answers while the process can answer at all, whatever the database does. */
  @Get('health')
  getHealth() {
    return { status: 'ok', version: VERSION, uptimeSeconds: Math.round(process.uptime()) };
  }

  @Get('ready')
  async getReady() {
    const readiness = await this.db.readiness();
    if (!readiness.ready) throw ProblemException.of('unavailable', `Not ready: ${readiness.reason}`);
    return { status: 'ready', database: 'reachable', migrations: 'applied' };
  }
}
