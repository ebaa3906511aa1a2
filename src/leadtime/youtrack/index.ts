export {
  fetchIssues,
  buildQuery,
  ISSUE_FIELDS,
  ACTIVITY_FIELDS,
  ACTIVITY_CATEGORIES,
  UPDATED_SINCE_MARGIN_MS,
  type YouTrackOptions,
} from './client';
export { toImportedIssue } from './extract';
export {
  DEFAULT_FIELD_MAPPING,
  parseFieldMapping,
  YouTrackError,
  type FieldMapping,
  type ImportedIssue,
  type YouTrackErrorKind,
} from './types';
