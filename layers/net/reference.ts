/**
 * A brute-force classifier: the slow, obviously right twin of `RangeTable`. It parses with ipaddr.js (not
 * our parser) and scans every prefix, keeping the best match by the same rule (AWS over GCP, then the
 * longest prefix). Tests check the fast table against it; the benchmark uses it as the baseline.
 */
import ipaddr from 'ipaddr.js';
import { formatCidr } from './ip';
import { type Classification, CLOUD_PRIORITY, type RangeTableData } from './types';

type Parsed = ipaddr.IPv4 | ipaddr.IPv6;

export class ReferenceClassifier {
  private readonly ranges: { network: Parsed; length: number; priority: number; answer: Classification }[];

  constructor(data: RangeTableData) {
    this.ranges = data.entries.map((entry) => {
      const prefix = formatCidr(entry.cidr);
      const place = data.places[entry.place]!;
      const [network, length] = ipaddr.parseCIDR(prefix);
      return { network, length, priority: CLOUD_PRIORITY[place.cloud], answer: { cloud: place.cloud, region: place.region, prefix } };
    });
  }

  /** Same contract as `RangeTable.classify`: undefined for invalid text, null for no match. */
  classify(text: string): Classification | null | undefined {
    const address = parseStrict(text);
    if (address === undefined) return undefined;
    let best: (typeof this.ranges)[number] | undefined;
    for (const range of this.ranges) {
      if (range.network.kind() !== address.kind()) continue;
      if (!address.match(range.network, range.length)) continue;
      if (best === undefined || range.priority > best.priority || (range.priority === best.priority && range.length > best.length)) {
        best = range;
      }
    }
    return best ? best.answer : null;
  }
}

function parseStrict(text: string): Parsed | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    // ipaddr.js accepts leading zeros ("010"); the edge's grammar does not.
    if (text.split('.').some((part) => part.length > 1 && part.startsWith('0'))) return undefined;
    return ipaddr.IPv4.parse(text);
  }
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  const v6 = ipaddr.IPv6.parse(text);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}
