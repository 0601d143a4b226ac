// How a renewal went live, in words for the log and `status`: "next key, aged 31d: activated at
// once", "next key, announced, not aged yet: activation at …", "same key: activated at once",
// "new key: activation at …".
import { formatDuration } from '../../config/duration.js';
import type { Rollover } from '../../core/state.js';

export function describePath(r: Rollover, now: Date): string {
  const done = r.activatedAt ? 'activated at once' : 'activates as soon as every server answers';
  switch (r.path) {
    case 'next-key': {
      const age = r.servedSince ? `, aged ${formatDuration(Date.parse(r.activatedAt ?? now.toISOString()) - Date.parse(r.servedSince))}` : '';
      // Announced but not aged when the renewal came: it goes live when the announcement has aged.
      if (!r.alreadyServed) return r.activatedAt ? `next key, announced${age}: activated ${r.activatedAt}` : `next key, announced, not aged yet: activation ${r.activateAfter ? `at ${r.activateAfter}` : 'when its records have been served long enough'}`;
      return `next key${age}: ${done}`;
    }
    case 'same-key':
      return `same key: ${done}`;
    case 'new-key':
      return r.activatedAt ? `new key: activated ${r.activatedAt}` : `new key: activation ${r.activateAfter ? `at ${r.activateAfter}` : 'once every server serves its records and the TTL has passed'}`;
    default:
      return r.alreadyServed ? `same key: ${done}` : r.activateAfter ? `activation at ${r.activateAfter}` : 'activation after propagation';
  }
}
