export {
  ExpositionParseError,
  SampleLimitError,
  formatExposition,
  formatValue,
  metricFamily,
  parseExposition,
  type MetricType,
  type ParseOptions,
  type ParseResult,
  type Sample,
} from './parse';
