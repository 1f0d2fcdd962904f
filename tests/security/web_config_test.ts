import assert from "node:assert/strict";
import {
  loadWebConfig,
  parseWebConfig,
  WebConfigError,
} from "../../src/http/web_config.ts";
import { WebConfigWatcher } from "../../src/http/web_config_watcher.ts";
import type { WebConfig } from "../../src/http/web_config.ts";
import { tempDir } from "../test_utils.ts";
import { withProcesses } from "../e2e/process_utils.ts";
import { catchError, GO_HASH, makePki } from "./security_utils.ts";

const FILE = "/etc/pushvault/web.yml";
const parse = (text: string) => parseWebConfig(text, { file: FILE });

Deno.test("parseWebConfig() reads the exporter-toolkit example", () => {
  const config = parse(`
http_server_config:
  http2: yes
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Content-Security-Policy: ""
basic_auth_users:
  alice: ${GO_HASH}
  bob: '${GO_HASH}'
`);
  assert.deepEqual(config.tls, undefined);
  assert.deepEqual(config.http2, true);
  // A blank value leaves the header unset, as the toolkit does.
  assert.deepEqual(config.headers, [
    ["X-Frame-Options", "deny"],
    ["X-Content-Type-Options", "nosniff"],
  ]);
  assert.deepEqual([...config.users.keys()], ["alice", "bob"]);
  assert.deepEqual(
    [...(config.users.get("alice")?.scopes ?? [])],
    ["push", "scrape", "read", "admin"],
  );
});

Deno.test("parseWebConfig() gives scoped users only their scopes", () => {
  const config = parse(`
basic_auth_users:
  ci: ${GO_HASH}
  prometheus: ${GO_HASH}
  ops: ${GO_HASH}
  probe: ${GO_HASH}
basic_auth_scopes:
  ci: [push]
  prometheus: [scrape, read]
  probe: []
`);
  const scopes = (name: string) => [...(config.users.get(name)?.scopes ?? [])];
  assert.deepEqual(scopes("ci"), ["push"]);
  assert.deepEqual(scopes("prometheus"), ["scrape", "read"]);
  assert.deepEqual(scopes("probe"), []);
  assert.deepEqual(scopes("ops"), ["push", "scrape", "read", "admin"]);
});

Deno.test("parseWebConfig() takes an empty file as no configuration", () => {
  for (const text of ["", "# nothing\n", "basic_auth_users:\n"]) {
    const config = parse(text);
    assert.deepEqual(config.users.size, 0);
    assert.deepEqual(config.tls, undefined);
  }
});

Deno.test("parseWebConfig() reads rate_limit with Go durations", () => {
  assert.deepEqual(
    parse("rate_limit:\n  interval: 1m30s\n  burst: 5\n").rateLimit,
    { intervalMs: 90_000, burst: 5 },
  );
  assert.deepEqual(
    parse("rate_limit:\n  interval: 250ms\n  burst: 1\n").rateLimit,
    { intervalMs: 250, burst: 1 },
  );
  assert.deepEqual(parse("rate_limit:\n  interval: 0\n").rateLimit, undefined);
});

const BAD_CONFIGS = [
  {
    name: "an unknown top-level key",
    text: "basic_auth_user:\n  a: x\n",
    key: "basic_auth_user",
    message: "unknown key; expected one of: tls_server_config",
  },
  {
    name: "an unknown TLS key",
    text: "tls_server_config:\n  certfile: a.crt\n",
    key: "tls_server_config.certfile",
    message: "unknown key",
  },
  {
    name: "an unknown http_server_config key",
    text: "http_server_config:\n  http3: true\n",
    key: "http_server_config.http3",
    message: "unknown key",
  },
  {
    name: "a header the toolkit does not allow",
    text: "http_server_config:\n  headers:\n    Server: pv\n",
    key: "http_server_config.headers.Server",
    message: 'HTTP header "Server" can not be configured',
  },
  {
    name: "a bad X-Frame-Options value",
    text: "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
    key: "http_server_config.headers.X-Frame-Options",
    message: 'invalid value "allow"; expected one of: deny, sameorigin',
  },
  {
    name: "http2 that is not a boolean",
    text: "http_server_config:\n  http2: maybe\n",
    key: "http_server_config.http2",
    message: 'expected true or false, found string "maybe"',
  },
  {
    name: "a password in clear text",
    text: "basic_auth_users:\n  alice: secret\n",
    key: "basic_auth_users.alice",
    message: "not a bcrypt hash",
  },
  {
    name: "a bcrypt hash with a cost out of range",
    text: `basic_auth_users:\n  alice: ${GO_HASH.replace("$10$", "$03$")}\n`,
    key: "basic_auth_users.alice",
    message: "not a bcrypt hash",
  },
  {
    name: "users as a list",
    text: "basic_auth_users:\n  - alice\n",
    key: "basic_auth_users",
    message: "expected a mapping, found a list",
  },
  {
    name: "scopes for a user that does not exist",
    text:
      `basic_auth_users:\n  alice: ${GO_HASH}\nbasic_auth_scopes:\n  bob: [push]\n`,
    key: "basic_auth_scopes.bob",
    message: 'no user "bob" in basic_auth_users',
  },
  {
    name: "an unknown scope",
    text:
      `basic_auth_users:\n  ci: ${GO_HASH}\nbasic_auth_scopes:\n  ci: [write]\n`,
    key: "basic_auth_scopes.ci",
    message:
      'unknown scope "write"; expected some of: push, scrape, read, admin',
  },
  {
    name: "scopes that are not a list",
    text:
      `basic_auth_users:\n  ci: ${GO_HASH}\nbasic_auth_scopes:\n  ci: push\n`,
    key: "basic_auth_scopes.ci",
    message: 'expected a list, found string "push"',
  },
  {
    name: "TLS without a certificate",
    text: "tls_server_config:\n  key_file: a.key\n",
    key: "tls_server_config",
    message: "missing one of cert or cert_file",
  },
  {
    name: "cipher_suites",
    text:
      "tls_server_config:\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n",
    key: "tls_server_config.cipher_suites",
    message: "is not supported",
  },
  {
    name: "curve_preferences",
    text: "tls_server_config:\n  curve_preferences: [X25519]\n",
    key: "tls_server_config.curve_preferences",
    message: "is not supported",
  },
  {
    name: "a duplicate key",
    text: "basic_auth_users: {}\nbasic_auth_users: {}\n",
    key: "",
    message: "invalid YAML in line 2, column 1",
  },
  {
    name: "broken YAML",
    text: "basic_auth_users:\n  alice: [\n",
    key: "",
    message: "invalid YAML",
  },
  {
    name: "rate_limit without burst",
    text: "rate_limit:\n  interval: 1s\n",
    key: "rate_limit.burst",
    message: "must be at least 1",
  },
  {
    name: "a rate_limit interval that is not a duration",
    text: "rate_limit:\n  interval: 1 second\n  burst: 1\n",
    key: "rate_limit.interval",
    message: 'invalid duration "1 second"',
  },
] as const;

Deno.test("parseWebConfig() refuses a bad file naming the key", async (t) => {
  for (const c of BAD_CONFIGS) {
    await t.step(c.name, () => {
      const error = catchError(() => parse(c.text), WebConfigError);
      assert.deepEqual(error.key, c.key);
      assert(
        error.message.startsWith(
          `--web.config.file ${JSON.stringify(FILE)}: ${
            c.key === "" ? "" : `${c.key}: `
          }`,
        ),
        error.message,
      );
      assert(error.message.includes(c.message), error.message);
    });
  }
});

Deno.test("parseWebConfig() checks TLS files and policies", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  const file = `${dir.path}/web.yml`;
  const tls = (lines: string) =>
    parseWebConfig(`tls_server_config:\n${lines}`, { file });
  const good = `  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n`;

  await t.step("relative paths are read next to the configuration", () => {
    const config = tls(good);
    assert.deepEqual(config.tls?.clientAuth, "NoClientCert");
    assert.deepEqual(config.tls?.minVersion, "TLSv1.2");
    assert.deepEqual(config.tls?.maxVersion, "TLSv1.3");
    assert(config.tls?.cert.includes("BEGIN CERTIFICATE"));
    assert.deepEqual(config.files, [
      file,
      `${dir.path}/${pki.serverCert}`,
      `${dir.path}/${pki.serverKey}`,
    ]);
  });
  await t.step("inline cert and key are accepted", () => {
    const indent = (pem: string) => pem.trim().replaceAll("\n", "\n    ");
    const config = tls(
      `  cert: |\n    ${indent(pki.read(pki.serverCert))}\n  key: |\n    ${
        indent(pki.read(pki.serverKey))
      }\n`,
    );
    assert(config.tls?.key.includes("PRIVATE KEY"));
  });
  await t.step(
    "the old name RequireClientCert means RequireAnyClientCert",
    () => {
      assert.deepEqual(
        tls(`${good}  client_auth_type: RequireClientCert\n`).tls?.clientAuth,
        "RequireAnyClientCert",
      );
    },
  );
  await t.step("min_version TLS10 is raised to TLS12 with a warning", () => {
    const config = tls(`${good}  min_version: TLS10\n`);
    assert.deepEqual(config.tls?.minVersion, "TLSv1.2");
    assert.deepEqual(config.warnings.length, 1);
  });

  const bad = [
    {
      name: "a missing certificate file",
      lines: `  cert_file: nope.crt\n  key_file: ${pki.serverKey}\n`,
      key: "tls_server_config.cert_file",
      message: `cannot read "${dir.path}/nope.crt"`,
    },
    {
      name: "a key that does not match the certificate",
      lines: `  cert_file: ${pki.serverCert}\n  key_file: ${pki.clientKey}\n`,
      key: "tls_server_config.key_file",
      message: "the private key does not match the certificate",
    },
    {
      name: "a key file that is a certificate",
      lines: `  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverCert}\n`,
      key: "tls_server_config.key_file",
      message: "not a PEM private key",
    },
    {
      name: "a certificate file that is a key",
      lines: `  cert_file: ${pki.serverKey}\n  key_file: ${pki.serverKey}\n`,
      key: "tls_server_config.cert_file",
      message: "not a PEM certificate",
    },
    {
      name: "both cert and cert_file",
      lines: `${good}  cert: x\n`,
      key: "tls_server_config.cert_file",
      message: "set either cert or cert_file, not both",
    },
    {
      name: "an unknown client_auth_type",
      lines: `${good}  client_auth_type: Always\n`,
      key: "tls_server_config.client_auth_type",
      message: 'invalid ClientAuth "Always"',
    },
    {
      name: "a client CA without a policy",
      lines: `${good}  client_ca_file: ${pki.caCert}\n`,
      key: "tls_server_config.client_ca_file",
      message: "client CA's have been configured without a Client Auth Policy",
    },
    {
      name: "verification without a client CA",
      lines: `${good}  client_auth_type: RequireAndVerifyClientCert\n`,
      key: "tls_server_config.client_ca_file",
      message: "is required with client_auth_type RequireAndVerifyClientCert",
    },
    {
      name: "client_allowed_sans without client certificates",
      lines: `${good}  client_allowed_sans: [a]\n`,
      key: "tls_server_config.client_allowed_sans",
      message: "needs a client_auth_type",
    },
    {
      name: "an unknown TLS version",
      lines: `${good}  min_version: TLS14\n`,
      key: "tls_server_config.min_version",
      message: "unknown TLS version: TLS14",
    },
    {
      name: "max_version below TLS 1.2",
      lines: `${good}  max_version: TLS11\n`,
      key: "tls_server_config.max_version",
      message: "TLS11 is not supported",
    },
    {
      name: "min_version above max_version",
      lines: `${good}  min_version: TLS13\n  max_version: TLS12\n`,
      key: "tls_server_config.min_version",
      message: "is above max_version",
    },
  ];
  for (const c of bad) {
    await t.step(`refuses ${c.name}`, () => {
      const error = catchError(() => tls(c.lines), WebConfigError);
      assert.deepEqual(error.key, c.key);
      assert(error.message.includes(c.message), error.message);
    });
  }
});

Deno.test("loadWebConfig() names a file it cannot read", () => {
  const error = catchError(
    () => loadWebConfig("/nonexistent/web.yml"),
    WebConfigError,
  );
  assert.deepEqual(error.key, "");
  assert(
    error.message.startsWith(
      '--web.config.file "/nonexistent/web.yml": cannot read:',
    ),
    error.message,
  );
});

/** A watcher of `file` as start.ts makes one, with what it reports kept. */
function watchConfig(
  file: string,
  readTextFile?: (path: string) => string,
) {
  const reloaded: WebConfig[] = [];
  const errors: WebConfigError[] = [];
  const watcher = new WebConfigWatcher({
    file,
    initial: loadWebConfig(file),
    onReload: (c) => reloaded.push(c),
    onError: (e) => errors.push(e),
    ...(readTextFile ? { readTextFile } : {}),
  });
  return {
    watcher,
    reloaded,
    errors,
    [Symbol.dispose]: () => watcher[Symbol.dispose](),
  };
}

Deno.test("WebConfigWatcher keeps the last good configuration", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/web.yml`;
  const write = (text: string) => Deno.writeTextFileSync(file, text);
  write(`basic_auth_users:\n  alice: ${GO_HASH}\n`);
  using watched = watchConfig(file);
  const { watcher, reloaded, errors } = watched;
  assert.deepEqual(watcher.check(), false, "nothing changed yet");

  write(`basic_auth_users:\n  alice: ${GO_HASH}\n  bob: ${GO_HASH}\n`);
  assert.deepEqual(watcher.check(), false, "read once it stays the same");
  assert.deepEqual(watcher.check(), true);
  assert.deepEqual([...watcher.current.users.keys()], ["alice", "bob"]);

  write("basic_auth_users:\n  alice: plaintext\n");
  assert.deepEqual(watcher.check(), false);
  assert.deepEqual(errors.length, 0);
  assert.deepEqual(watcher.check(), false);
  assert.deepEqual(errors.length, 1);
  assert.deepEqual(errors[0]?.key, "basic_auth_users.alice");
  assert.deepEqual([...watcher.current.users.keys()], ["alice", "bob"]);
  assert.deepEqual(watcher.check(), false, "a broken file is reported once");

  write(`basic_auth_users:\n  carol: ${GO_HASH}\n`);
  watcher.check();
  assert.deepEqual(watcher.check(), true);
  assert.deepEqual([...watcher.current.users.keys()], ["carol"]);
  assert.deepEqual(reloaded.length, 2);
});

Deno.test("WebConfigWatcher never uses a file caught half written", async (t) => {
  // A check can stat the file and then read it before its writer is done
  // (Deno.writeTextFile truncates, then writes). Simulated here: the read
  // sees a torn version while the file gets its final content.
  for (
    const [name, torn] of [
      ["cut mid-hash", `basic_auth_users:\n  bob: ${GO_HASH.slice(0, 20)}`],
      ["truncated to nothing (no users: no authentication)", ""],
    ]
  ) {
    await t.step(name as string, async () => {
      await using dir = await tempDir();
      const file = `${dir.path}/web.yml`;
      Deno.writeTextFileSync(file, `basic_auth_users:\n  alice: ${GO_HASH}\n`);
      let tearNext = false;
      using watched = watchConfig(file, (path) => {
        if (!tearNext) return Deno.readTextFileSync(path);
        tearNext = false;
        Deno.writeTextFileSync(
          file,
          `basic_auth_users:\n  alice: ${GO_HASH}\n  bob: ${GO_HASH}\n`,
        );
        return torn as string;
      });
      const { watcher, errors } = watched;
      Deno.writeTextFileSync(file, `basic_auth_users:\n  bob: ${GO_HASH}\n`);
      assert.deepEqual(watcher.check(), false, "settling");
      tearNext = true;
      assert.deepEqual(watcher.check(), false, "torn: not used");
      assert.deepEqual([...watcher.current.users.keys()], ["alice"]);
      assert.deepEqual(errors, [], "torn is not broken: nothing reported");
      assert.deepEqual(watcher.check(), false, "settling again");
      assert.deepEqual(watcher.check(), true, "the finished file is read");
      assert.deepEqual([...watcher.current.users.keys()], ["alice", "bob"]);
      assert.deepEqual(watcher.check(), false);
    });
  }
});

Deno.test("WebConfigWatcher refuses to switch TLS on while running", async () => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  const file = `${dir.path}/web.yml`;
  Deno.writeTextFileSync(file, "");
  using watched = watchConfig(file);
  const { watcher, errors } = watched;
  Deno.writeTextFileSync(
    file,
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n`,
  );
  assert.deepEqual(watcher.reload(), false);
  assert.deepEqual(errors[0]?.key, "tls_server_config");
  assert(errors[0]?.message.includes("change only at a restart"));
  assert.deepEqual(watcher.current.tls, undefined);
});

Deno.test("pushvault exits 1 naming the key of a bad --web.config.file, before opening the database", async () => {
  await using dir = await tempDir();
  const config = `${dir.path}/web.yml`;
  Deno.writeTextFileSync(
    config,
    `basic_auth_users:\n  ci: ${GO_HASH}\nbasic_auth_scopes:\n  ci: [write]\n`,
  );
  const result = await withProcesses((group) =>
    group.runPushvault([
      "--web.listen-address=127.0.0.1:0",
      `--persistence.file=${dir.path}/pv.db`,
      `--web.config.file=${config}`,
    ])
  );
  assert.equal(result.code, 1, result.stderr);
  assert.ok(
    result.stderr.includes(
      `level=error msg="cannot start" err="--web.config.file \\"${config}\\": basic_auth_scopes.ci: unknown scope \\"write\\"; expected some of: push, scrape, read, admin"`,
    ),
    result.stderr,
  );
  assert.throws(() => Deno.statSync(`${dir.path}/pv.db`), Deno.errors.NotFound);
});
