// Runs the CDK Provider framework's own runtime (framework.js and its siblings, as aws-cdk-lib writes them
// into the cloud assembly) outside AWS, for framework_host.py.
//
//   node framework_host.js <bridge port>
//
// stdin:  one JSON request a line: {"id", "asset", "entry", "env", "event"} (optional "module", default
//         "framework"): run <asset>/<module>.js's export <entry>(event) as the Lambda runtime would.
// stdout: one JSON line per request: {"id", "ok": true, "result", "logs"} or {"id", "ok": false, "errorType",
//         "errorMessage", "trace", "retry", "logs"}; first a {"ready": true} line. Nothing else goes to stdout:
//         console.* is sent to stderr (and collected per call into "logs").
// What the framework does with AWS goes to the Python bridge on 127.0.0.1:<port> instead:
// - @aws-sdk/client-lambda's Lambda.invoke and waitUntilFunctionActiveV2, @aws-sdk/client-sfn's
//   SFN.startExecution are stand-ins that POST JSON to /lambda/invoke, /lambda/wait-until-active and
//   /sfn/start-execution;
// - https.request (used only for the response PUT to the pre-signed ResponseURL) goes to
//   http://127.0.0.1:<port>/response<original path and query>, same method, headers and body.
"use strict";

const { AsyncLocalStorage } = require("node:async_hooks");
const http = require("node:http");
const https = require("node:https");
const Module = require("node:module");
const path = require("node:path");
const readline = require("node:readline");
const util = require("node:util");

const port = Number(process.argv[2] || process.env.FRAMEWORK_HOST_BRIDGE_PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write("framework_host: usage: node framework_host.js <bridge port>\n");
  process.exit(2);
}

// --- One environment per call ---------------------------------------------------------------------------
// Calls overlap (several resources deploy at once, and one provider's isComplete polls while another's
// onEvent runs), and the framework reads process.env *after* awaiting the user function (onEvent checks
// USER_IS_COMPLETE_FUNCTION_ARN only then). Two Providers share the same framework asset but not the same
// USER_* values, so setting a global process.env before each call would be unsafe. Instead process.env is a
// view of the current call's environment, found through AsyncLocalStorage, which follows the call across
// awaits, timers and socket callbacks.
const calls = new AsyncLocalStorage();
const hostEnv = process.env;
const currentEnv = () => calls.getStore()?.env ?? hostEnv;
process.env = new Proxy(
  {},
  {
    get: (_, key) => currentEnv()[key],
    set: (_, key, value) => {
      currentEnv()[key] = String(value);
      return true;
    },
    has: (_, key) => key in currentEnv(),
    deleteProperty: (_, key) => delete currentEnv()[key],
    ownKeys: () => Reflect.ownKeys(currentEnv()),
    getOwnPropertyDescriptor: (_, key) =>
      Object.hasOwn(currentEnv(), key)
        ? { value: currentEnv()[key], writable: true, enumerable: true, configurable: true }
        : undefined,
  },
);

// --- Logs: stderr, and the current call's "logs" ----------------------------------------------------------
function log(...args) {
  const line = util.format(...args);
  calls.getStore()?.logs.push(line);
  process.stderr.write(line.endsWith("\n") ? line : `${line}\n`);
}
for (const level of ["log", "info", "debug", "warn", "error", "trace"]) console[level] = log;

// --- The bridge -----------------------------------------------------------------------------------------
function bridge(route, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const request = http.request(
      {
        host: "127.0.0.1",
        port,
        path: route,
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let answer = {};
          try {
            answer = JSON.parse(text);
          } catch {
            answer = { message: text };
          }
          if (response.statusCode >= 400) {
            // As the AWS SDK throws a service exception: name is the error code.
            const error = new Error(answer.message || `bridge answered ${response.statusCode}`);
            error.name = answer.name || "ServiceException";
            error.$metadata = { httpStatusCode: response.statusCode };
            reject(error);
          } else {
            resolve(answer);
          }
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(data);
  });
}

const asText = (payload) =>
  payload === undefined ? "" : typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8");

class Lambda {
  constructor(config) {
    this.config = config;
  }
  async invoke(request) {
    const answer = await bridge("/lambda/invoke", {
      FunctionName: request.FunctionName,
      InvocationType: request.InvocationType,
      Payload: asText(request.Payload),
    });
    const result = {
      $metadata: { httpStatusCode: 200 },
      StatusCode: 200,
      ExecutedVersion: "$LATEST",
      Payload: new TextEncoder().encode(answer.Payload),
    };
    if (answer.FunctionError) result.FunctionError = answer.FunctionError;
    return result;
  }
}

async function waitUntilFunctionActiveV2(_waiter, input) {
  await bridge("/lambda/wait-until-active", { FunctionName: input.FunctionName });
  return { state: "SUCCESS" };
}

class SFN {
  constructor(config) {
    this.config = config;
  }
  async startExecution(request) {
    const answer = await bridge("/sfn/start-execution", {
      stateMachineArn: request.stateMachineArn,
      input: request.input,
      name: request.name,
    });
    return { $metadata: { httpStatusCode: 200 }, executionArn: answer.executionArn, startDate: new Date() };
  }
}

const standIns = {
  "@aws-sdk/client-lambda": { Lambda, waitUntilFunctionActiveV2 },
  "@aws-sdk/client-sfn": { SFN },
};
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (Object.hasOwn(standIns, request)) return standIns[request];
  return load.call(this, request, parent, isMain);
};

// The framework's only HTTPS request is the response PUT (outbound.httpRequest: https.request(options, cb)).
https.request = (options, callback) => {
  if (typeof options !== "object" || options instanceof URL || typeof callback !== "function") {
    throw new Error("framework_host: only https.request(options, callback) is supported");
  }
  return http.request(
    {
      host: "127.0.0.1",
      port,
      path: `/response${options.path}`,
      method: options.method,
      headers: options.headers,
      agent: false,
    },
    callback,
  );
};

// --- Calls ----------------------------------------------------------------------------------------------
function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

// As the Lambda Node.js runtime reports a handler's error: errorType is error.name.
function failure(id, error, logs, errorType = undefined) {
  const isError = error instanceof Error;
  return {
    id,
    ok: false,
    errorType: errorType ?? (isError ? error.name : typeof error),
    errorMessage: isError ? error.message : String(error),
    trace: isError && typeof error.stack === "string" ? error.stack.split("\n") : [],
    // framework.js's `class Retry extends Error {}` keeps the name "Error", so tell it by its class.
    retry: isError && error.constructor?.name === "Retry",
    logs,
  };
}

async function run(request) {
  const store = { env: { ...hostEnv, ...request.env }, logs: [] };
  return calls.run(store, async () => {
    let handler;
    try {
      const exported = require(path.join(path.resolve(request.asset), request.module || "framework"));
      handler = exported[request.entry];
    } catch (error) {
      return failure(request.id, error, store.logs, "Runtime.ImportModuleError");
    }
    if (typeof handler !== "function") {
      return failure(request.id, `${request.entry} is not a function`, store.logs, "Runtime.HandlerNotFound");
    }
    try {
      const context = { awsRequestId: String(request.id), getRemainingTimeInMillis: () => 900000 };
      const result = await handler(request.event, context);
      return { id: request.id, ok: true, result: result === undefined ? null : result, logs: store.logs };
    } catch (error) {
      return failure(request.id, error, store.logs);
    }
  });
}

process.on("uncaughtException", (error) => log("framework_host: uncaught exception:", error));
process.on("unhandledRejection", (error) => log("framework_host: unhandled rejection:", error));

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    send(failure(null, error, [], "HostProtocolError"));
    return;
  }
  run(request).then(send, (error) => send(failure(request.id, error, [], "HostError")));
});
// The Python side closes stdin when it shuts down: calls still running are abandoned.
lines.on("close", () => process.exit(0));
send({ ready: true, node: process.version });
