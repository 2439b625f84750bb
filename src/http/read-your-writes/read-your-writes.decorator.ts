import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiExtension, type OpenAPIObject, type ResponseObject } from '@nestjs/swagger';
import { READ_MODELS_HEADER, ReadYourWritesInterceptor } from './read-your-writes.interceptor.js';

/** Marks the operations `documentReadYourWrites` gives the header to; removed from the published document. */
const MARK = 'x-chronos-read-your-writes';

/**
 * A route that writes: its answer waits for the read models (ReadYourWritesInterceptor) and carries
 * X-Chronos-Read-Models, which the OpenAPI document shows on each of its success responses.
 */
export const ReadYourWrites = () => applyDecorators(UseInterceptors(ReadYourWritesInterceptor), ApiExtension(MARK, true));

/** Adds the X-Chronos-Read-Models header to every 2xx response of the operations marked by @ReadYourWrites. */
export function documentReadYourWrites(document: OpenAPIObject): OpenAPIObject {
  for (const path of Object.values(document.paths)) {
    for (const operation of [path.get, path.put, path.post, path.delete, path.patch]) {
      if (!operation || !(MARK in operation)) continue;
      delete (operation as Record<string, unknown>)[MARK];
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!status.startsWith('2') || !response || '$ref' in response) continue;
        (response as ResponseObject).headers = {
          ...(response as ResponseObject).headers,
          [READ_MODELS_HEADER]: {
            description:
              '`current`: every read model had applied this write before it answered, so your next reads (lists, filters, upcoming, ' +
              'executions, dead letters, dashboard) reflect it on any API instance. `lagging`: they had not within ' +
              'READ_YOUR_WRITES_WAIT_MS; the write is stored, and reads may not show it yet.',
            required: true,
            schema: { type: 'string', enum: ['current', 'lagging'] },
          },
        };
      }
    }
  }
  return document;
}
