// An independent OPC UA client (node-opcua) against the plant's server: browse the typed
// plant tree, read units and ranges, subscribe, write setpoints as an engineer (accepted,
// out of range, measurement), call a machine method as an operator and, as anonymous, be
// refused both. Prints one JSON object with what it saw on the last line of stdout.
//
// With a third argument `alarms`: subscribe to events at the Server object (where alarm
// summaries subscribe), acknowledge a breakdown with the standard Acknowledge method (and
// be refused a second time), read history with paging (continuation points) and an
// aggregate, translate a browse path to the standard 0:EURange property, and read
// UserAccessLevel / UserExecutable per role.
//
// Usage: node plant_client.mjs <endpoint_url> <pki_dir> [alarms]
// Users from the environment: PLANT_ENGINEER, PLANT_ENGINEER_PW, PLANT_OPERATOR, PLANT_OPERATOR_PW.

import {
  AggregateFunction,
  AttributeIds,
  BrowseDirection,
  ClientMonitoredItem,
  ClientSubscription,
  DataType,
  MessageSecurityMode,
  NodeClass,
  NodeClassMask,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  constructEventFilter,
  makeBrowsePath,
} from "node-opcua-client";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";

const NAMESPACE_URI = "urn:plant-twin:plant";
const DEADLINE_MS = 20_000;

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

async function browseAll(session, nodeId, referenceTypeId, nodeClassMask = 0) {
  const refs = [];
  let result = await session.browse({
    nodeId,
    referenceTypeId,
    includeSubtypes: true,
    browseDirection: BrowseDirection.Forward,
    nodeClassMask,
    resultMask: 0x3f,
  });
  for (;;) {
    if (!result.statusCode.isGood()) throw new Error(`browse ${nodeId}: ${result.statusCode.name}`);
    refs.push(...(result.references ?? []));
    if (!result.continuationPoint || result.continuationPoint.length === 0) return refs;
    result = await session.browseNext(result.continuationPoint, false);
  }
}

async function child(session, nodeId, name) {
  const refs = await browseAll(session, nodeId, "HierarchicalReferences");
  const hit = refs.find((r) => r.browseName.name === name);
  if (!hit) throw new Error(`no child ${name} under ${nodeId}`);
  return hit.nodeId.toString();
}

// Every object below `nodeId` (depth-first, objects only), with its browse path and type.
async function walkObjects(session, nodeId, path, depth, out) {
  if (depth === 0) return;
  for (const r of await browseAll(session, nodeId, "HierarchicalReferences", NodeClassMask.Object)) {
    if (r.nodeClass !== NodeClass.Object) continue;
    const p = [...path, r.browseName.name];
    out.push({ name: r.browseName.name, path: p.join("/"), nodeId: r.nodeId.toString(), typeDefinition: r.typeDefinition.toString() });
    await walkObjects(session, r.nodeId, p, depth - 1, out);
  }
}

async function readProperties(session, nodeId) {
  const props = {};
  for (const r of await browseAll(session, nodeId, "HasProperty")) {
    const dv = await session.read({ nodeId: r.nodeId, attributeId: AttributeIds.Value });
    props[r.browseName.name] = dv.value.value;
  }
  return props;
}

async function typeDefinitionOf(session, nodeId) {
  const refs = await browseAll(session, nodeId, "HasTypeDefinition");
  return refs.length ? refs[0].nodeId.toString() : null;
}

function until(predicate, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (predicate()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > DEADLINE_MS) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 20);
  });
}

async function writeInt32(session, nodeId, value) {
  const status = await session.write({
    nodeId,
    attributeId: AttributeIds.Value,
    value: { value: { dataType: DataType.Int32, value } },
  });
  return status.name;
}

async function callMethod(session, objectId, methodId) {
  const res = await session.call({ objectId, methodId, inputArguments: [] });
  return { status: res.statusCode.name, output: (res.outputArguments ?? []).map((v) => v.value) };
}

// One client (secure channel) per identity: asyncua serves one session per secure channel
// and runs every request on a channel as its most recently activated session.
async function openSession(url, certificateManager, identity) {
  const client = OPCUAClient.create({
    applicationName: "plant-twin-interop",
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 2, initialDelay: 200, maxDelay: 1000 },
    clientCertificateManager: certificateManager,
  });
  await client.connect(url);
  try {
    return { client, session: await client.createSession(identity) };
  } catch (err) {
    await client.disconnect();
    throw err;
  }
}

function userIdentity(prefix) {
  return { type: UserTokenType.UserName, userName: env(prefix), password: env(`${prefix}_PW`) };
}

async function main(url, pkiDir, out) {
  const certificateManager = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: true });
  const opened = [];
  try {
    for (const identity of [undefined, userIdentity("PLANT_ENGINEER"), userIdentity("PLANT_OPERATOR")]) {
      opened.push(await openSession(url, certificateManager, identity));
    }
    const [anon, engineer, operator] = opened.map((o) => o.session);

    const namespaces = await anon.readNamespaceArray();
    const idx = namespaces.indexOf(NAMESPACE_URI);
    if (idx < 0) throw new Error(`namespace ${NAMESPACE_URI} not in ${namespaces}`);
    out.namespaceIndex = idx;
    const nid = (path) => `ns=${idx};s=Plant/${path}`;

    // Browse Objects/Plant/GearLine/... by browse name, then find every machine by its type.
    const plant = await child(anon, "i=85", "Plant");
    const line = await child(anon, plant, "GearLine");
    const objects = [];
    await walkObjects(anon, line, ["Plant", "GearLine"], 3, objects);
    const machineType = `ns=${idx};s=Types/MachineType`;
    const typeName = (await anon.read({ nodeId: machineType, attributeId: AttributeIds.BrowseName })).value.value;
    out.machineType = { nodeId: machineType, browseName: typeName.name, namespaceIndex: typeName.namespaceIndex };
    out.machines = Object.fromEntries(objects.filter((o) => o.typeDefinition === machineType).map((o) => [o.name, o]));
    for (const m of Object.values(out.machines)) {
      const conds = await browseAll(anon, m.nodeId, "HasCondition");
      m.conditions = conds.map((r) => ({ nodeId: r.nodeId.toString(), typeDefinition: r.typeDefinition.toString() }));
    }
    out.objectTypes = Object.fromEntries(objects.map((o) => [o.path, o.typeDefinition]));

    // An analog item: its type, EngineeringUnits and EURange.
    const power = nid("GearLine/MP1/MP1/PowerKW");
    const props = await readProperties(anon, power);
    out.analog = {
      nodeId: power,
      typeDefinition: await typeDefinitionOf(anon, power),
      engineeringUnits: {
        displayName: props.EngineeringUnits.displayName.text,
        unitId: props.EngineeringUnits.unitId,
        namespaceUri: props.EngineeringUnits.namespaceUri,
      },
      euRange: { low: props.EURange.low, high: props.EURange.high },
    };

    // Subscribe to a few tags and collect their changes.
    const k1 = nid("GearLine/Control/K1_A");
    const watched = {
      PlantTime: nid("GearLine/KPIs/PlantTime"),
      PowerKW: power,
      State: nid("GearLine/MP1/MP1/State"),
      PartsDone: nid("GearLine/MP1/MP1/PartsDone"),
      K1_A: k1,
    };
    const sub = ClientSubscription.create(anon, {
      requestedPublishingInterval: 100, requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 1,
    });
    await new Promise((resolve, reject) => { sub.once("started", resolve); sub.once("internal_error", reject); });
    const seen = Object.fromEntries(Object.keys(watched).map((k) => [k, []]));
    for (const [name, nodeId] of Object.entries(watched)) {
      const item = ClientMonitoredItem.create(sub, { nodeId, attributeId: AttributeIds.Value },
        { samplingInterval: 100, discardOldest: true, queueSize: 10 }, TimestampsToReturn.Both);
      item.on("changed", (dv) => seen[name].push(dv.value.value));
    }
    await until(() => Object.values(seen).every((v) => v.length > 0) && seen.PlantTime.length >= 5,
      "initial values and 5 PlantTime changes");
    out.subscription = {
      publishingInterval: sub.publishingInterval,
      initial: Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v[0]])),
      plantTime: [...seen.PlantTime],
    };

    // Setpoint writes as the engineer; the accepted one comes back through the subscription.
    const before = seen.K1_A[seen.K1_A.length - 1];
    const target = before < 999 ? before + 1 : before - 1;
    out.writes = {
      k1Before: before,
      k1Target: target,
      anonymous: await writeInt32(anon, k1, target),
      setpoint: await writeInt32(engineer, k1, target),
      outOfRange: await writeInt32(engineer, k1, 5000),
      measurement: await writeInt32(engineer, nid("GearLine/MP1/MP1/PartsDone"), 7),
    };
    await until(() => seen.K1_A.includes(target), "K1_A notification with the written value");
    out.writes.k1Notified = seen.K1_A[seen.K1_A.length - 1];

    // A machine method as the operator, and refused as anonymous.
    const mp1 = nid("GearLine/MP1/MP1");
    out.methods = {
      anonymous: await callMethod(anon, mp1, `${mp1}/StartMaintenance`),
      operator: await callMethod(operator, mp1, `${mp1}/StartMaintenance`),
    };
    out.changes = Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v.length]));

    await sub.terminate();
  } finally {
    for (const { client, session } of opened) {
      await session.close();
      await client.disconnect();
    }
  }
}

async function alarms(url, pkiDir, out) {
  const certificateManager = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: true });
  const opened = [];
  try {
    for (const identity of [undefined, userIdentity("PLANT_ENGINEER"), userIdentity("PLANT_OPERATOR")]) {
      opened.push(await openSession(url, certificateManager, identity));
    }
    const [anon, engineer, operator] = opened.map((o) => o.session);
    const idx = (await anon.readNamespaceArray()).indexOf(NAMESPACE_URI);
    const nid = (path) => `ns=${idx};s=Plant/${path}`;

    // Events at the Server object (i=2253): plant events and condition events of every machine.
    const sub = ClientSubscription.create(operator, {
      requestedPublishingInterval: 50, requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 1,
    });
    await new Promise((resolve, reject) => { sub.once("started", resolve); sub.once("internal_error", reject); });
    const names = ["EventId", "SourceName", "Message", "Severity", "ConditionName", "AckedState.Id", "ActiveState.Id",
      `${idx}:Kind`, `${idx}:PlantTime`, "ConditionId"];
    const events = [];
    const item = ClientMonitoredItem.create(sub, { nodeId: "i=2253", attributeId: AttributeIds.EventNotifier },
      { samplingInterval: 0, discardOldest: true, queueSize: 1000, filter: constructEventFilter(names) },
      TimestampsToReturn.Neither);
    item.on("changed", (fields) => {
      events.push(Object.fromEntries(names.map((n, i) => [n, fields[i].value])));
    });
    const unacked = () => events.filter((e) => e.ConditionName && e["AckedState.Id"] === false && e[`${idx}:Kind`] === "breakdown");
    const ack = (e) => operator.call({
      objectId: e.ConditionId, methodId: "ns=0;i=9111",
      inputArguments: [{ dataType: DataType.ByteString, value: e.EventId },
        { dataType: DataType.LocalizedText, value: { text: "interop" } }],
    });
    let acked = null;
    let first = null;
    for (let tries = 0; tries < 5 && !acked; tries++) {
      const seen = unacked().length;
      await until(() => unacked().length > seen || (tries === 0 && seen > 0), "an unacknowledged breakdown at the Server object");
      const e = unacked()[unacked().length - 1];
      const res = await ack(e);
      if (res.statusCode.name === "Good") {
        acked = e;
        first = res.statusCode.name;
      }
    }
    if (!acked) throw new Error("no breakdown could be acknowledged");
    const again = await ack(acked);
    await until(() => events.some((e) => e.ConditionId?.toString() === acked.ConditionId.toString() && e["AckedState.Id"] === true),
      "the acknowledged condition event");
    out.events = {
      plantEvents: events.filter((e) => !e.ConditionName && e[`${idx}:Kind`]).length,
      conditionEvents: events.filter((e) => e.ConditionName).length,
      plantTimeInEvents: events.every((e) => e[`${idx}:PlantTime`] instanceof Date),
      acknowledged: { conditionId: acked.ConditionId.toString(), first, again: again.statusCode.name },
    };
    await sub.terminate();

    // History: pages of 50 with continuation points, then an aggregate.
    const wip = nid("GearLine/KPIs/WIP");
    const start = new Date(Date.now() - 3600_000);
    async function readFirstPage() {
      const page = await anon.readHistoryValue(wip, start, new Date(Date.now() + 3600_000), { numValuesPerNode: 50 });
      if (!page.statusCode.isGood()) throw new Error(`history: ${page.statusCode.name}`);
      return page;
    }
    let firstPage = await readFirstPage();
    for (const t0 = Date.now(); !(firstPage.historyData.dataValues.length === 50 && firstPage.continuationPoint?.length > 0);) {
      if (Date.now() - t0 > DEADLINE_MS) throw new Error("timed out waiting for more than 50 historized values");
      await new Promise((resolve) => setTimeout(resolve, 100));
      firstPage = await readFirstPage();
    }
    out.history = { pages: 0, values: 0, sorted: true, firstPageValues: firstPage.historyData.dataValues.length };
    let cp = firstPage.continuationPoint;
    let stamps = firstPage.historyData.dataValues.map((dv) => dv.sourceTimestamp.getTime());
    const end = new Date(Date.now() + 3600_000);
    out.history.pages = 1;
    while (cp && cp.length > 0 && out.history.pages < 200) {
      const page = await anon.readHistoryValue({ nodeId: wip, continuationPoint: cp }, start, end, { numValuesPerNode: 50 });
      if (!page.statusCode.isGood()) throw new Error(`history page: ${page.statusCode.name}`);
      stamps = stamps.concat(page.historyData.dataValues.map((dv) => dv.sourceTimestamp.getTime()));
      cp = page.continuationPoint;
      out.history.pages += 1;
    }
    out.history.values = stamps.length;
    out.history.unique = new Set(stamps).size === stamps.length;
    out.history.sorted = stamps.every((t, i) => i === 0 || stamps[i - 1] <= t);
    const power = nid("GearLine/MP1/MP1/PowerKW");
    const now = new Date();
    const agg = await anon.readAggregateValue([{ nodeId: power }, { nodeId: power }], start, now,
      [AggregateFunction.Average, AggregateFunction.Maximum], now.getTime() - start.getTime());
    out.aggregate = {
      status: agg.map((r) => r.statusCode.name),
      values: agg.map((r) => r.historyData.dataValues.map((dv) => ({ status: dv.statusCode.name, value: dv.value.value }))),
    };

    // TranslateBrowsePathsToNodeIds to the standard property 0:EURange.
    const tr = await anon.translateBrowsePath(makeBrowsePath(power, "/0:EURange"));
    out.translate = { status: tr.statusCode.name, targets: (tr.targets ?? []).map((t) => t.targetId.toString()) };

    // UserAccessLevel and UserExecutable as each role sees them.
    const k1 = nid("GearLine/Control/K1_A");
    const stop = `${nid("GearLine/MP1/MP1")}/Stop`;
    out.access = {};
    for (const [role, session] of [["anonymous", anon], ["engineer", engineer], ["operator", operator]]) {
      const level = (await session.read({ nodeId: k1, attributeId: AttributeIds.UserAccessLevel })).value.value;
      const exec = (await session.read({ nodeId: stop, attributeId: AttributeIds.UserExecutable })).value.value;
      out.access[role] = { userAccessLevel: level, userExecutable: exec };
    }

  } finally {
    for (const { client, session } of opened) {
      await session.close();
      await client.disconnect();
    }
  }
}

const [url, pkiDir, mode] = process.argv.slice(2);
if (!url || !pkiDir) {
  console.error("usage: node plant_client.mjs <endpoint_url> <pki_dir>");
  process.exit(2);
}
const out = {};
try {
  await (mode === "alarms" ? alarms : main)(url, pkiDir, out);
  process.stdout.write(`\n${JSON.stringify(out)}\n`);
  process.exit(0);
} catch (err) {
  process.stdout.write(`\n${JSON.stringify({ ...out, error: String(err?.stack ?? err) })}\n`);
  process.exit(1);
}
