/**
 * A minimal HTTP/1.1 client over one keep-alive TCP connection, for the
 * gateway benchmark: requests are preformatted bytes, responses are counted
 * rather than kept (Content-Length and chunked bodies), so the client costs
 * little CPU beside the server it measures and reports bytes as they crossed
 * the wire (a gzip scrape is not decompressed). Loopback only; not a general
 * HTTP client (no redirects, no pipelining, no HTTP/2).
 * @module
 */

const CR = 13;
const LF = 10;
const encoder = new TextEncoder();

/** What a response carried; the body itself is dropped after counting. */
export interface HttpResult {
  readonly status: number;
  /** Body bytes as sent (after chunked framing is removed, before any gzip). */
  readonly bodyBytes: number;
  /** The first bytes of the body as text, for error messages. */
  readonly bodyStart: string;
  readonly headers: ReadonlyMap<string, string>;
}

/** The connection broke or the server sent something we cannot frame. */
export class HttpProtocolError extends Error {
  override name = "HttpProtocolError";
}

/** `METHOD path HTTP/1.1` with Host, Content-Length and the given headers. */
export function formatRequest(
  method: string,
  path: string,
  host: string,
  headers: Readonly<Record<string, string>>,
  body: Uint8Array | null,
): Uint8Array {
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    head += `${name}: ${value}\r\n`;
  }
  if (body !== null) head += `Content-Length: ${body.length}\r\n`;
  head += "\r\n";
  const headBytes = encoder.encode(head);
  if (body === null || body.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes, 0);
  out.set(body, headBytes.length);
  return out;
}

/** One keep-alive connection; one request at a time. */
export class Http1Connection {
  readonly #conn: Deno.TcpConn;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(hostname: string, port: number): Promise<Http1Connection> {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new Http1Connection(conn);
  }

  /** Sends a preformatted request and reads the whole response. */
  async request(bytes: Uint8Array, bodyStartBytes = 200): Promise<HttpResult> {
    let off = 0;
    while (off < bytes.length) {
      off += await this.#conn.write(bytes.subarray(off));
    }
    const statusLine = await this.#readLine();
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) {
      throw new HttpProtocolError(
        `bad status line ${JSON.stringify(statusLine)}`,
      );
    }
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const line = await this.#readLine();
      if (line === "") break;
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers.set(
          line.slice(0, colon).trim().toLowerCase(),
          line.slice(colon + 1).trim(),
        );
      }
    }
    const keep = { bytes: new Uint8Array(bodyStartBytes), n: 0 };
    let bodyBytes = 0;
    const length = headers.get("content-length");
    if (headers.get("transfer-encoding")?.toLowerCase() === "chunked") {
      for (;;) {
        const sizeLine = await this.#readLine();
        const size = parseInt(sizeLine, 16);
        if (!Number.isFinite(size) || size < 0) {
          throw new HttpProtocolError(
            `bad chunk size ${JSON.stringify(sizeLine)}`,
          );
        }
        if (size === 0) {
          while ((await this.#readLine()) !== "");
          break;
        }
        await this.#consume(size, keep);
        bodyBytes += size;
        if ((await this.#readLine()) !== "") {
          throw new HttpProtocolError("chunk not followed by CRLF");
        }
      }
    } else if (length !== undefined) {
      bodyBytes = Number(length);
      await this.#consume(bodyBytes, keep);
    } else if (status !== 204 && status !== 304) {
      throw new HttpProtocolError(
        "response without Content-Length or chunked body",
      );
    }
    return {
      status,
      bodyBytes,
      bodyStart: new TextDecoder().decode(keep.bytes.subarray(0, keep.n)),
      headers,
    };
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
  }

  /** Makes at least one more byte available; throws at end of stream. */
  async #fill(): Promise<void> {
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    } else if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) throw new HttpProtocolError("connection closed by server");
    this.#end += n;
  }

  /** One line without its CR LF, as Latin-1 (status, headers, chunk sizes). */
  async #readLine(): Promise<string> {
    let scanFrom = this.#start;
    for (let guard = 0; guard < 1024; guard++) {
      const i = this.#buf.subarray(scanFrom, this.#end).indexOf(LF);
      if (i >= 0) {
        const lf = scanFrom + i;
        const stop = lf > this.#start && this.#buf[lf - 1] === CR ? lf - 1 : lf;
        const line = String.fromCharCode(
          ...this.#buf.subarray(this.#start, stop),
        );
        this.#start = lf + 1;
        return line;
      }
      scanFrom = this.#end;
      const before = this.#start;
      await this.#fill();
      scanFrom -= before - this.#start; // the buffer may have been compacted
    }
    throw new HttpProtocolError("header line longer than the buffer allows");
  }

  /** Skips `n` body bytes, keeping the first few for error messages. */
  async #consume(
    n: number,
    keep: { bytes: Uint8Array; n: number },
  ): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#start === this.#end) await this.#fill();
      const take = Math.min(left, this.#end - this.#start);
      if (keep.n < keep.bytes.length) {
        const copy = Math.min(take, keep.bytes.length - keep.n);
        keep.bytes.set(
          this.#buf.subarray(this.#start, this.#start + copy),
          keep.n,
        );
        keep.n += copy;
      }
      this.#start += take;
      left -= take;
    }
  }
}
