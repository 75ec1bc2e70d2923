/** The range table compiled from the snapshot at build time (`ranges.bin` beside the bundle). */
export declare const embeddedTable: Uint8Array;
