import { Controller, Get, Header } from '@nestjs/common';
import { loadSpec } from './spec';

@Controller()
export class OpenApiController {
  @Get('openapi.yaml')
  @Header('Content-Type', 'application/yaml; charset=utf-8')
  getOpenApiYaml(): string {
    return loadSpec().text;
  }

  @Get('openapi.json')
  getOpenApiJson(): object {
    return loadSpec().document;
  }
}
