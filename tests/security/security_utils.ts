/**
 * Helpers for the security tests: a throw-away CA with server and client
 * certificates made by the openssl CLI in a temp directory, bcrypt hashes,
 * and a gateway started with a web configuration file.
 * @module
 */

import bcrypt from "bcryptjs";
import type { StartOptions } from "../../src/start.ts";
import type { TestGateway } from "../test_utils.ts";
import { startTestGateway } from "../test_utils.ts";

/** The toolkit's own hash of "fakepassword" (a `$2y$` hash made by Go). */
export const GO_HASH =
  "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/** The error `fn` throws, checked to be an instance of `type`. */
export function catchError<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any -- any constructor signature
  type: new (...args: any[]) => E,
): E {
  try {
    fn();
  } catch (error) {
    if (error instanceof type) return error;
    throw new Error(`expected ${type.name}, got ${String(error)}`, {
      cause: error,
    });
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}

/** A cheap bcrypt hash (cost 4) for tests. */
export function hash(password: string): string {
  return bcrypt.hashSync(password, 4);
}

/** `Authorization: Basic …` for user and password. */
export function basic(user: string, password: string): HeadersInit {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return { Authorization: `Basic ${btoa(String.fromCharCode(...bytes))}` };
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

/** File names (relative to `dir`) of a CA and certificates it signed. */
export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  /** Server certificate for 127.0.0.1 and localhost. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificate with SANs DNS:pusher.example and URI:spiffe://pv/pusher. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** A self-signed client certificate no CA vouches for. */
  readonly rogueCert: string;
  readonly rogueKey: string;
  /** PEM text of a file above. */
  read(name: string): string;
}

/** Makes a CA, a server certificate, a client certificate and a rogue one. */
export async function makePki(dir: string, prefix = ""): Promise<Pki> {
  const p = (name: string) => `${prefix}${name}`;
  const ext = (name: string, text: string) =>
    Deno.writeTextFile(`${dir}/${p(name)}`, text);
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-days",
    "2",
    "-subj",
    "/CN=pushvault test CA",
  ]);
  const leaf = async (
    name: string,
    subject: string,
    extensions: string,
    selfSigned: boolean,
  ) => {
    await ext(`${name}.ext`, extensions);
    await openssl(dir, [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.csr`),
      "-subj",
      subject,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      ...(selfSigned
        ? ["-signkey", p(`${name}.key`)]
        : ["-CA", p("ca.crt"), "-CAkey", p("ca.key"), "-CAcreateserial"]),
      "-out",
      p(`${name}.crt`),
      "-days",
      "2",
      "-extfile",
      p(`${name}.ext`),
    ]);
  };
  await leaf(
    "server",
    "/CN=localhost",
    "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    false,
  );
  await leaf(
    "client",
    "/CN=pusher",
    "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:pusher.example,URI:spiffe://pv/pusher\n",
    false,
  );
  await leaf(
    "rogue",
    "/CN=rogue",
    "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:pusher.example\n",
    true,
  );
  return {
    dir,
    caCert: p("ca.crt"),
    serverCert: p("server.crt"),
    serverKey: p("server.key"),
    clientCert: p("client.crt"),
    clientKey: p("client.key"),
    rogueCert: p("rogue.crt"),
    rogueKey: p("rogue.key"),
    read: (name) => Deno.readTextFileSync(`${dir}/${name}`),
  };
}

/** A gateway whose --web.config.file is `web.yml` with `yaml` in its temp dir. */
export async function startWithWebConfig(
  yaml: string,
  flags: readonly string[] = [],
  options: StartOptions & { dir?: string } = {},
): Promise<TestGateway & { configPath: string }> {
  const dir = options.dir ??
    await Deno.makeTempDir({ prefix: "pushvault-security-" });
  const configPath = `${dir}/web.yml`;
  await Deno.writeTextFile(configPath, yaml);
  const gw = await startTestGateway(
    [`--web.config.file=${configPath}`, ...flags],
    { webConfigPollMs: 0, ...options, dir },
  );
  return {
    ...gw,
    configPath,
    async [Symbol.asyncDispose]() {
      await gw[Symbol.asyncDispose]();
      if (!options.dir) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A fetch client trusting the test CA, optionally presenting a certificate. */
export function tlsClient(
  pki: Pki,
  client?: { cert: string; key: string },
): Deno.HttpClient {
  return Deno.createHttpClient({
    caCerts: [pki.read(pki.caCert)],
    ...(client
      ? { cert: pki.read(client.cert), key: pki.read(client.key) }
      : {}),
  });
}
