/** Keeps the head and tail of a stream within a byte budget, so endless output cannot exhaust memory. */

export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;

export interface CollectedOutput {
  output: string;
  truncated: boolean;
  totalBytes: number;
}

export function omittedMarker(bytes: number): string {
  return `\n… [${bytes} bytes omitted] …\n`;
}

export class OutputCollector {
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(maxBytes: number = DEFAULT_MAX_OUTPUT_BYTES) {
    const max = Math.max(2, Math.floor(maxBytes));
    this.headLimit = Math.floor(max / 2);
    this.tailLimit = max - this.headLimit;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headBytes < this.headLimit) {
      const take = Math.min(this.headLimit - this.headBytes, rest.length);
      this.head.push(rest.subarray(0, take));
      this.headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    // Copy: the tail outlives the chunk, and a subarray would pin the whole chunk in memory.
    const kept = rest.length > this.tailLimit ? rest.subarray(rest.length - this.tailLimit) : rest;
    this.tail.push(Buffer.from(kept));
    this.tailBytes += kept.length;
    this.trimTail();
  }

  private trimTail(): void {
    let excess = this.tailBytes - this.tailLimit;
    if (excess <= 0) return;
    let drop = 0;
    while (excess > 0) {
      const first = this.tail[drop];
      if (first === undefined) break;
      if (first.length <= excess) {
        excess -= first.length;
        this.tailBytes -= first.length;
        drop++;
      } else {
        this.tail[drop] = first.subarray(excess);
        this.tailBytes -= excess;
        excess = 0;
      }
    }
    if (drop > 0) this.tail = this.tail.slice(drop);
  }

  get totalBytes(): number {
    return this.total;
  }

  result(): CollectedOutput {
    const head = Buffer.concat(this.head);
    const tail = Buffer.concat(this.tail);
    const omitted = this.total - head.length - tail.length;
    if (omitted <= 0) {
      return { output: Buffer.concat([head, tail]).toString('utf8'), truncated: false, totalBytes: this.total };
    }
    const headText = decodeHead(head);
    const tailText = decodeTail(tail);
    return {
      output: headText + omittedMarker(omitted) + tailText,
      truncated: true,
      totalBytes: this.total,
    };
  }
}

/** Drop an incomplete UTF-8 sequence cut at the end. */
function decodeHead(buf: Buffer): string {
  let lead = buf.length - 1;
  while (lead > 0 && buf.length - lead < 4 && ((buf[lead] ?? 0) & 0xc0) === 0x80) lead--;
  const byte = buf[lead] ?? 0;
  const expected = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  const complete = lead >= 0 && buf.length - lead < expected ? buf.subarray(0, lead) : buf;
  return complete.toString('utf8');
}

/** Skip continuation bytes cut at the start. */
function decodeTail(buf: Buffer): string {
  let start = 0;
  while (start < buf.length && start < 4 && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}

/** Head and tail of an already collected string, with the same marker as a live stream. */
export function truncateText(text: string, maxBytes: number = DEFAULT_MAX_OUTPUT_BYTES): CollectedOutput {
  const collector = new OutputCollector(maxBytes);
  collector.push(Buffer.from(text, 'utf8'));
  return collector.result();
}
