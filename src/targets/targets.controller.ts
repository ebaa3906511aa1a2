import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Target, TargetCreate, TargetPage, TargetPatch } from './target';
import { TargetsService, type ListTargetsQuery } from './targets.service';

/** Requests reach these handlers only after validation against openapi.yaml. */
@Controller('api/v1/targets')
export class TargetsController {
  constructor(private readonly service: TargetsService) {}

  @Get()
  listTargets(@Query() query: ListTargetsQuery): Promise<TargetPage> {
    return this.service.listTargets(query);
  }

  @Post()
  async createTarget(@Body() body: TargetCreate, @Res({ passthrough: true }) reply: FastifyReply): Promise<Target> {
    const target = await this.service.createTarget(body);
    void reply.header('Location', `/api/v1/targets/${target.id}`);
    return target;
  }

  @Get(':id')
  getTarget(@Param('id') id: string): Promise<Target> {
    return this.service.getTarget(id);
  }

  @Patch(':id')
  updateTarget(@Param('id') id: string, @Body() body: TargetPatch): Promise<Target> {
    return this.service.updateTarget(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  deleteTarget(@Param('id') id: string): Promise<void> {
    return this.service.deleteTarget(id);
  }
}
