/**
 * `--web.config.file`: the Prometheus exporter-toolkit web configuration
 * (docs/security.md; toolkit `docs/web-configuration.md`) plus Pushvault's scoped
 * credentials, loaded, validated and reloaded when the file changes.
 *
 * Validation is strict, as the toolkit's `yaml.UnmarshalStrict`: an unknown
 * key, a value of the wrong type, a bad bcrypt hash or an unreadable
 * certificate is refused with an error naming the key. At start that stops
 * the process; later (see web_config_watcher.ts) the last good
 * configuration stays in force and the reason is logged.
 *
 * Deliberate differences from the toolkit, each because our TLS stack
 * (rustls, through `node:https`) cannot honour the setting and silently
 * ignoring a security setting would be worse than refusing it:
 * `cipher_suites` and `curve_preferences` are refused; `max_version` below
 * TLS12 is refused; `min_version` below TLS12 is raised to TLS12 (stricter
 * than asked, logged); a verifying `client_auth_type` needs a client CA.
 * Never reads files other than the configuration and the files it names.
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { dirname, isAbsolute, join } from "node:path";
import { parseDocument } from "yaml";
import { errorMessage } from "../error_message.ts";
import {
  type BasicAuthUser,
  parseRateLimit,
  parseUsers,
  type RateLimit,
} from "./web_config_users.ts";
import {
  type Fail,
  list,
  mapping,
  optionalBool,
  string,
} from "./web_config_yaml.ts";

/** The toolkit's client certificate policies (Go's tls.ClientAuthType). */
export const CLIENT_AUTH_TYPES = [
  "NoClientCert",
  "RequestClientCert",
  "RequireAnyClientCert",
  "VerifyClientCertIfGiven",
  "RequireAndVerifyClientCert",
] as const;
export type ClientAuthType = typeof CLIENT_AUTH_TYPES[number];

export type TlsVersion = "TLSv1.2" | "TLSv1.3";

export interface TlsSettings {
  /** PEM certificate chain and private key (read from the files, or inline). */
  readonly cert: string;
  readonly key: string;
  /** PEM bundle of CAs that sign client certificates. */
  readonly clientCa: string | undefined;
  readonly clientAuth: ClientAuthType;
  /** A client certificate must carry one of these SANs (exact match). */
  readonly clientAllowedSans: readonly string[] | undefined;
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
}

export interface WebConfig {
  readonly tls: TlsSettings | undefined;
  /** Accepted for compatibility; TLS connections speak HTTP/1.1. */
  readonly http2: boolean;
  /** Extra response headers, set on every response. */
  readonly headers: readonly (readonly [string, string])[];
  /** Empty: no authentication. */
  readonly users: ReadonlyMap<string, BasicAuthUser>;
  readonly rateLimit: RateLimit | undefined;
  /** Notes for the log (settings accepted but changed or without effect). */
  readonly warnings: readonly string[];
  /** Every file the configuration was read from, to watch for changes. */
  readonly files: readonly string[];
}

/** A configuration that cannot be used; the message names the file and key. */
export class WebConfigError extends Error {
  override name = "WebConfigError";
  /** Dotted key path (`tls_server_config.min_version`), "" for the file itself. */
  readonly key: string;
  constructor(file: string, key: string, detail: string) {
    super(
      `--web.config.file ${JSON.stringify(file)}: ${
        key === "" ? "" : `${key}: `
      }${detail}`,
    );
    this.key = key;
  }
}

/** Headers the toolkit lets a configuration set, with their allowed values. */
const EXTRA_HEADERS: ReadonlyMap<string, readonly string[] | undefined> =
  new Map([
    ["Strict-Transport-Security", undefined],
    ["X-Content-Type-Options", ["nosniff"]],
    ["X-Frame-Options", ["deny", "sameorigin"]],
    ["X-XSS-Protection", undefined],
    ["Content-Security-Policy", undefined],
  ]);

const TOP_KEYS = [
  "tls_server_config",
  "http_server_config",
  "basic_auth_users",
  "basic_auth_scopes",
  "rate_limit",
  "basic_auth_rate_limits",
] as const;
const TLS_KEYS = [
  "cert",
  "key",
  "client_ca",
  "cert_file",
  "key_file",
  "client_auth_type",
  "client_ca_file",
  "client_allowed_sans",
  "min_version",
  "max_version",
  "cipher_suites",
  "prefer_server_cipher_suites",
  "curve_preferences",
] as const;
const HTTP_KEYS = ["http2", "headers"] as const;

export interface ReadOptions {
  /** Reads a file named by the configuration (tests inject one). */
  readonly readTextFile?: (path: string) => string;
}

/** Reads and validates the file. Throws WebConfigError naming the key. */
export function loadWebConfig(
  file: string,
  options: ReadOptions = {},
): WebConfig {
  const read = options.readTextFile ?? Deno.readTextFileSync;
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    throw new WebConfigError(file, "", `cannot read: ${errorMessage(error)}`);
  }
  return parseWebConfig(text, { file, readTextFile: read });
}

/** Parses the YAML text of a configuration found at `file`. */
export function parseWebConfig(
  text: string,
  options: { readonly file: string } & ReadOptions,
): WebConfig {
  const { file } = options;
  const read = options.readTextFile ?? Deno.readTextFileSync;
  const fail = (key: string, detail: string): never => {
    throw new WebConfigError(file, key, detail);
  };
  // YAML 1.1 as go-yaml v2 reads it (the toolkit's parser): `yes` is true.
  const doc = parseDocument(text, { version: "1.1", uniqueKeys: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const at = problem.linePos?.[0];
    fail(
      "",
      `invalid YAML${at ? ` in line ${at.line}, column ${at.col}` : ""}: ${
        problem.message.split("\n")[0]
      }`,
    );
  }
  const root = doc.toJS() as unknown;
  const top = mapping(root ?? {}, "", fail, TOP_KEYS);
  const dir = dirname(file);
  const files = [file];
  const warnings: string[] = [];

  const tls = parseTls(top.get("tls_server_config"), {
    dir,
    read,
    fail,
    files,
    warnings,
  });

  const httpConfig = mapping(
    top.get("http_server_config") ?? {},
    "http_server_config",
    fail,
    HTTP_KEYS,
  );
  const http2 = optionalBool(
    httpConfig.get("http2"),
    "http_server_config.http2",
    fail,
  ) ?? true;
  const headers: [string, string][] = [];
  for (
    const [name, value] of mapping(
      httpConfig.get("headers") ?? {},
      "http_server_config.headers",
      fail,
    )
  ) {
    const key = `http_server_config.headers.${name}`;
    if (!EXTRA_HEADERS.has(name)) {
      fail(
        key,
        `HTTP header ${JSON.stringify(name)} can not be configured; allowed: ${
          [...EXTRA_HEADERS.keys()].join(", ")
        }`,
      );
    }
    const text = string(value, key, fail);
    const allowed = EXTRA_HEADERS.get(name);
    if (allowed && !allowed.includes(text)) {
      fail(
        key,
        `invalid value ${JSON.stringify(text)}; expected one of: ${
          allowed.join(", ")
        }`,
      );
    }
    // The toolkit leaves a blank value unset.
    if (text !== "") headers.push([name, text]);
  }

  const users = parseUsers(top, fail);
  const rateLimit = parseRateLimit(top.get("rate_limit"), "rate_limit", fail);

  return {
    tls,
    http2,
    headers,
    users,
    rateLimit,
    warnings,
    files,
  };
}

interface TlsContext {
  readonly dir: string;
  readonly read: (path: string) => string;
  readonly fail: Fail;
  readonly files: string[];
  readonly warnings: string[];
}

function parseTls(
  value: unknown,
  ctx: TlsContext,
): TlsSettings | undefined {
  if (value === undefined || value === null) return undefined;
  const { fail } = ctx;
  const t = mapping(value, "tls_server_config", fail, TLS_KEYS);
  const str = (name: (typeof TLS_KEYS)[number]): string => {
    const v = t.get(name);
    return v === undefined || v === null
      ? ""
      : string(v, `tls_server_config.${name}`, fail);
  };
  for (const name of ["cipher_suites", "curve_preferences"] as const) {
    const v = t.get(name);
    if (v !== undefined && v !== null && list(v, name, fail).length > 0) {
      fail(
        `tls_server_config.${name}`,
        "is not supported: Pushvault's TLS stack (rustls) offers only its own modern AEAD cipher suites and curves (X25519, P-256, P-384) and cannot restrict them; remove the key",
      );
    }
  }
  optionalBool(
    t.get("prefer_server_cipher_suites"),
    "tls_server_config.prefer_server_cipher_suites",
    fail,
  );
  const enabled = ["cert", "key", "client_ca", "cert_file", "key_file"]
    .some((k) => str(k as (typeof TLS_KEYS)[number]) !== "") ||
    str("client_ca_file") !== "" || str("client_auth_type") !== "";
  if (!enabled) return undefined;

  const material = (
    inline: "cert" | "key" | "client_ca",
    fileKey: "cert_file" | "key_file" | "client_ca_file",
  ): { text: string; key: string } | undefined => {
    const text = str(inline);
    const path = str(fileKey);
    if (text !== "" && path !== "") {
      fail(
        `tls_server_config.${fileKey}`,
        `set either ${inline} or ${fileKey}, not both`,
      );
    }
    if (path === "") {
      return text === ""
        ? undefined
        : { text, key: `tls_server_config.${inline}` };
    }
    const full = isAbsolute(path) ? path : join(ctx.dir, path);
    ctx.files.push(full);
    try {
      return { text: ctx.read(full), key: `tls_server_config.${fileKey}` };
    } catch (error) {
      return fail(
        `tls_server_config.${fileKey}`,
        `cannot read ${JSON.stringify(full)}: ${errorMessage(error)}`,
      );
    }
  };
  const cert = material("cert", "cert_file") ??
    fail("tls_server_config", "missing one of cert or cert_file");
  const key = material("key", "key_file") ??
    fail("tls_server_config", "missing one of key or key_file");
  const clientCa = material("client_ca", "client_ca_file");

  let certificate: X509Certificate;
  try {
    if (!cert.text.includes("-----BEGIN CERTIFICATE-----")) {
      throw new Error("no PEM CERTIFICATE block");
    }
    certificate = new X509Certificate(cert.text);
  } catch (error) {
    return fail(cert.key, `not a PEM certificate (${errorMessage(error)})`);
  }
  try {
    const privateKey = createPrivateKey(key.text);
    if (!certificate.checkPrivateKey(privateKey)) {
      fail(key.key, "the private key does not match the certificate");
    }
  } catch (error) {
    if (error instanceof WebConfigError) throw error;
    fail(
      key.key,
      `not a PEM private key (RSA, EC or PKCS#8) (${errorMessage(error)})`,
    );
  }
  if (clientCa) {
    try {
      if (!clientCa.text.includes("-----BEGIN CERTIFICATE-----")) {
        throw new Error("no PEM CERTIFICATE block");
      }
      new X509Certificate(clientCa.text);
    } catch (error) {
      fail(clientCa.key, `not a PEM certificate (${errorMessage(error)})`);
    }
  }

  const authText = str("client_auth_type") || "NoClientCert";
  // "RequireClientCert" is the toolkit's old name for RequireAnyClientCert.
  const clientAuth =
    (authText === "RequireClientCert"
      ? "RequireAnyClientCert"
      : authText) as ClientAuthType;
  if (!CLIENT_AUTH_TYPES.includes(clientAuth)) {
    fail(
      "tls_server_config.client_auth_type",
      `invalid ClientAuth ${JSON.stringify(authText)}; expected one of: ${
        CLIENT_AUTH_TYPES.join(", ")
      }`,
    );
  }
  if (clientCa && clientAuth === "NoClientCert") {
    fail(
      "tls_server_config.client_ca_file",
      "client CA's have been configured without a Client Auth Policy (set client_auth_type)",
    );
  }
  if (
    !clientCa &&
    (clientAuth === "RequireAndVerifyClientCert" ||
      clientAuth === "VerifyClientCertIfGiven")
  ) {
    fail(
      "tls_server_config.client_ca_file",
      `is required with client_auth_type ${clientAuth}: client certificates are verified against it`,
    );
  }
  let clientAllowedSans: string[] | undefined;
  const sans = t.get("client_allowed_sans");
  if (sans !== undefined && sans !== null) {
    clientAllowedSans = list(
      sans,
      "tls_server_config.client_allowed_sans",
      fail,
    )
      .map((s) => string(s, "tls_server_config.client_allowed_sans", fail));
    if (clientAuth === "NoClientCert") {
      fail(
        "tls_server_config.client_allowed_sans",
        "needs a client_auth_type that asks for client certificates",
      );
    }
  }

  const version = (name: "min_version" | "max_version", fallback: string) => {
    const text = str(name) || fallback;
    if (!["TLS10", "TLS11", "TLS12", "TLS13"].includes(text)) {
      fail(
        `tls_server_config.${name}`,
        `unknown TLS version: ${text}; expected TLS12 or TLS13`,
      );
    }
    return text;
  };
  const min = version("min_version", "TLS12");
  const max = version("max_version", "TLS13");
  if (max === "TLS10" || max === "TLS11") {
    fail(
      "tls_server_config.max_version",
      `${max} is not supported: Pushvault's TLS stack speaks TLS 1.2 and 1.3 only`,
    );
  }
  if (min === "TLS10" || min === "TLS11") {
    ctx.warnings.push(
      `tls_server_config.min_version ${min} is raised to TLS12: TLS 1.0 and 1.1 are not offered`,
    );
  }
  const minVersion: TlsVersion = min === "TLS13" ? "TLSv1.3" : "TLSv1.2";
  const maxVersion: TlsVersion = max === "TLS12" ? "TLSv1.2" : "TLSv1.3";
  if (minVersion === "TLSv1.3" && maxVersion === "TLSv1.2") {
    fail("tls_server_config.min_version", "is above max_version");
  }
  return {
    cert: cert.text,
    key: key.text,
    clientCa: clientCa?.text,
    clientAuth,
    clientAllowedSans,
    minVersion,
    maxVersion,
  };
}

/**
 * What a TLS listener is built with and cannot change while it runs:
 * whether TLS is on, the client certificate policy and the versions.
 * Certificates, keys and CAs change live.
 */
export function tlsListenerShape(config: WebConfig): string {
  const t = config.tls;
  return t ? `${t.clientAuth} ${t.minVersion}-${t.maxVersion}` : "plain HTTP";
}
