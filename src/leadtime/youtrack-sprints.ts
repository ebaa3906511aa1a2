import { YouTrackHttp } from './youtrack/http';
import { YouTrackError } from './youtrack/types';
import { isRecord } from './youtrack/values';
import type { SprintRecord } from './leadtime.repository';

/**
 * Sprint start and finish dates from YouTrack's agile boards (`/api/agiles`), which planned scope is replayed
 * to. Timestamps are epoch milliseconds; a sprint on several boards keeps the first dates found.
 */
export async function fetchYouTrackSprints(settings: {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
}): Promise<SprintRecord[]> {
  const http = new YouTrackHttp({ ...settings, connections: 1 });
  const sprints = new Map<string, SprintRecord>();
  try {
    for (let skip = 0, page = 1; ; skip += 100, page++) {
      // Instances without agile boards (or tokens without access to them) have no sprint dates: not an error.
      const body = await http
        .getJson(
          '/api/agiles',
          { fields: 'name,sprints(name,start,finish)', $top: '100', $skip: String(skip) },
          `page ${page}`,
        )
        .catch((error: unknown) => {
          if (error instanceof YouTrackError && (error.status === 404 || error.status === 403)) return [];
          throw error;
        });
      if (!Array.isArray(body)) break;
      for (const board of body) {
        if (!isRecord(board) || !Array.isArray(board.sprints)) continue;
        for (const sprint of board.sprints) {
          if (!isRecord(sprint) || typeof sprint.name !== 'string' || sprints.has(sprint.name)) continue;
          sprints.set(sprint.name, {
            name: sprint.name,
            startAt: typeof sprint.start === 'number' ? new Date(sprint.start) : null,
            endAt: typeof sprint.finish === 'number' ? new Date(sprint.finish) : null,
          });
        }
      }
      if (body.length < 100) break;
    }
  } finally {
    await http.close();
  }
  return [...sprints.values()];
}
