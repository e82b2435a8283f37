// Runs the CDK Provider framework's own code (framework.js, cfn-response.js) with its outbound
// calls stubbed: reads {entry, event, reply} on stdin, prints what the framework sent, in order.
const path = require("path");
const Module = require("module");
const load = Module._load;
Module._load = function (request, ...rest) {
  return request.startsWith("@aws-sdk/") ? {} : load.call(this, request, ...rest);
};
const dir = process.argv[2];
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const outbound = require(path.join(dir, "outbound.js"));
const sent = [];
outbound.httpRequest = async (options, body) => { sent.push({ type: "response", body }); };
outbound.startExecution = async (req) => { sent.push({ type: "startExecution", input: req.input }); };
outbound.invokeFunction = async () => ({ ...input.reply, Payload: Buffer.from(input.reply.Payload) });
process.env.USER_ON_EVENT_FUNCTION_ARN = `arn:aws:lambda:us-east-1:123456789012:function:${input.onEventFunction}`;
process.env.USER_IS_COMPLETE_FUNCTION_ARN = `arn:aws:lambda:us-east-1:123456789012:function:${input.isCompleteFunction}`;
process.env.WAITER_STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:waiter";
console.log = () => {};
const framework = require(path.join(dir, "framework.js"));
framework[input.entry](input.event).then(
  () => process.stdout.write(JSON.stringify(sent)),
  (e) => process.stdout.write(JSON.stringify([...sent, { type: "thrown", name: e.constructor.name }])),
);
