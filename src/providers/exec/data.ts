// The `data` strings of exec protocol v1: record data in zone-file presentation form (RFC 1035
// §5.1), one string per record. TLSA as "3 1 1 <hex>"; TXT as double-quoted character-strings,
// because a DKIM value is split into ≤255-byte strings and a delete must repeat the split. Pure.
import { formatRdataPresentation, type Rdata, type RecordType } from '../../core/rdata.js';
import { parseServedTlsaRdata } from '../../core/tlsa.js';
import { parseTxtPresentation } from '../../core/txt-presentation.js';

/**
 * What danehook sends: TLSA lowercase hex; TXT each string quoted, `"` and `\` escaped with a
 * backslash, bytes outside printable ASCII as `\DDD` (decimal), strings separated by one space.
 */
export const formatExecData = (r: Rdata): string => formatRdataPresentation(r);

/**
 * Parse one `data` string of a reply; undefined when it is not valid presentation form for `type`.
 * TLSA as leniently as the wire: another writer's record must not make every list fail.
 */
export function parseExecData(type: RecordType, text: string): Rdata | undefined {
  return type === 'TLSA' ? parseServedTlsaRdata(text) : parseTxtPresentation(text);
}
