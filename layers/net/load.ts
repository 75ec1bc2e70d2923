import { decodeTable, type TableMetadata } from './codec';
import { RangeTable } from './table';

export interface LoadedTable {
  table: RangeTable;
  metadata: TableMetadata;
}

/** Decodes a table in the wire format and builds its lookup structure. */
export function loadTable(bytes: Uint8Array, options: { check?: boolean } = {}): LoadedTable {
  const decoded = decodeTable(bytes, options);
  return { table: new RangeTable(decoded.places, decoded.intervals, decoded.index), metadata: decoded.metadata };
}
