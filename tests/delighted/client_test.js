#!/usr/bin/env node
// Drives npsd's Delighted-compatible API (/v1/...) through the official Node client,
// delighted@2.2.0, in two phases run by tests/api (see README.md in this folder).
//
//   NPSD_URL=http://127.0.0.1:PORT NPSD_KEY=... node client_test.js people
//   NPSD_URL=... NPSD_KEY=... PEOPLE='{"ann": ...}' node client_test.js rest
//
// Exits 0 when every check passes; the last line of stdout is the phase's JSON output.
// The client's sunset notice (console.warn on require) and Node's `new Buffer` deprecation
// warning go to stderr.
'use strict';

const createDelighted = require('delighted');

let CHECKS = 0;
let STEP = 'start';
let finished = false;

class CheckFailed extends Error {}

function step(name) {
  STEP = name;
}

function check(cond, what) {
  if (!cond) throw new CheckFailed(what);
  CHECKS += 1;
}

const show = (v) => JSON.stringify(v);
const isInt = (v) => Number.isInteger(v);

// `promise` must reject with the client's error of `type`; returns the error.
async function expectError(type, what, promise) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    check(err && err.type === type,
      `${what}: expected ${type}, got ${err && err.type} ${err && err.message}`);
    return err;
  }
  throw new CheckFailed(`${what}: expected ${type}, got success: ${show(result)}`);
}

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`client_test.js: the environment variable ${name} is required`);
    process.exit(2);
  }
  return v;
}

const URL_BASE = env('NPSD_URL').replace(/\/+$/, '');
const KEY = env('NPSD_KEY');
// npsd's clock in the test starts at a fixed instant: its distance from this machine's clock.
const CLOCK_AHEAD = Number(env('NPSD_CLOCK_AHEAD_SECONDS'));
const appNow = () => Math.floor(Date.now() / 1000) + CLOCK_AHEAD;
const parsed = new URL(URL_BASE);
const options = {
  host: parsed.hostname,
  port: Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)),
  scheme: parsed.protocol.replace(':', ''),
  base: '/v1',
};
const delighted = createDelighted(KEY, options);

const [ANN, BOB, CAT, DAN] = ['ann', 'bob', 'cat', 'dan'].map((n) => `${n}@example.com`);

async function phasePeople() {
  step("1. A wrong key is refused with the client's AuthenticationError");
  const wrong = createDelighted('wrong', options);
  await expectError('AuthenticationError', 'wrong key: metrics.retrieve', wrong.metrics.retrieve());
  await expectError('AuthenticationError', 'wrong key: person.create',
    wrong.person.create({ email: 'nobody@example.com' }));

  step('2.-5. People, with and without a survey email scheduled');
  let now = appNow();
  const ann = await delighted.person.create({
    email: ANN, name: 'Ann',
    properties: { plan: 'pro', question_product_name: 'the Acme Kettle' },
  });
  check(typeof ann.id === 'string' && ann.id.length > 0, `ann: id is a non-empty string: ${show(ann)}`);
  check(ann.email === ANN, `ann: email ${show(ann.email)}`);
  check(ann.name === 'Ann', `ann: name ${show(ann.name)}`);
  check(isInt(ann.survey_scheduled_at), `ann: survey_scheduled_at is an integer: ${show(ann)}`);
  check(Math.abs(ann.survey_scheduled_at - now) < 120,
    `ann: survey_scheduled_at ${ann.survey_scheduled_at} is about now (${now})`);

  const bob = await delighted.person.create({ email: BOB, name: 'Bob', properties: { plan: 'free' } });
  check(typeof bob.id === 'string' && bob.id.length > 0, `bob: id is a non-empty string: ${show(bob)}`);
  check(bob.email === BOB, `bob: email ${show(bob.email)}`);
  check(isInt(bob.survey_scheduled_at), `bob: survey_scheduled_at is an integer: ${show(bob)}`);

  const cat = await delighted.person.create({ email: CAT, name: 'Cat', send: false });
  check(typeof cat.id === 'string' && cat.id.length > 0, `cat: id is a non-empty string: ${show(cat)}`);
  check(cat.email === CAT, `cat: email ${show(cat.email)}`);
  check(cat.survey_scheduled_at === null,
    `cat (send: false): survey_scheduled_at is null: ${show(cat)}`);

  now = appNow();
  const dan = await delighted.person.create({ email: DAN, delay: 3600 });
  check(typeof dan.id === 'string' && dan.id.length > 0, `dan: id is a non-empty string: ${show(dan)}`);
  check(isInt(dan.survey_scheduled_at) && dan.survey_scheduled_at >= now + 3500,
    `dan (delay: 3600): survey_scheduled_at ${show(dan.survey_scheduled_at)} >= now+3500 (${now + 3500})`);
  check(new Set([ann.id, bob.id, cat.id, dan.id]).size === 4, 'four different ids');

  step("6. No email: the client's ResourceValidationError");
  await expectError('ResourceValidationError', 'person.create without an email',
    delighted.person.create({ name: 'No Email' }));

  return { ann: ann.id, bob: bob.id, cat: cat.id, dan: dan.id };
}

async function phaseRest() {
  const people = JSON.parse(env('PEOPLE'));
  const ids = { [people.ann]: ANN, [people.bob]: BOB };

  step('1. The two answers given in the emails');
  const responses = await delighted.surveyResponse.all();
  check(Array.isArray(responses), 'surveyResponse.all resolves a list');
  check(responses.length === 2, `surveyResponse.all: 2 responses, got ${responses.length}: ${show(responses)}`);
  check(show(responses.map((r) => r.score).sort((a, b) => a - b)) === '[3,10]',
    `scores are {10, 3}: ${show(responses.map((r) => r.score))}`);
  for (const r of responses) {
    check(typeof r.id === 'string' && r.id.length > 0, `response id is a non-empty string: ${show(r)}`);
    check(typeof r.person === 'string' && r.person in ids, `response person is ann's or bob's id: ${show(r)}`);
    const want = ids[r.person] === ANN ? 10 : 3;
    check(r.score === want, `${ids[r.person]}'s score is ${want}: ${show(r)}`);
    check(r.survey_type === 'nps', `survey_type nps: ${show(r)}`);
    check(isInt(r.created_at) && isInt(r.updated_at), `created_at/updated_at integers: ${show(r)}`);
    for (const field of ['notes', 'tags', 'additional_answers']) {
      check(Array.isArray(r[field]), `${field} is a list: ${show(r)}`);
    }
    check(typeof r.permalink === 'string' && r.permalink.startsWith(URL_BASE),
      `permalink ${show(r.permalink)} starts with ${URL_BASE}`);
  }
  check(new Set(responses.map((r) => r.person)).size === 2, 'one response each from ann and bob');

  step('2. Numbered pages');
  const p1 = await delighted.surveyResponse.all({ per_page: 1, page: 1 });
  const p2 = await delighted.surveyResponse.all({ per_page: 1, page: 2 });
  const p3 = await delighted.surveyResponse.all({ per_page: 1, page: 3 });
  check(p1.length === 1 && p2.length === 1, `per_page=1: pages 1 and 2 hold 1 each: ${show(p1)} ${show(p2)}`);
  check(p1[0].id !== p2[0].id, 'pages 1 and 2 differ');
  check(new Set([p1[0].id, p2[0].id, ...responses.map((r) => r.id)]).size === 2,
    'pages 1 and 2 hold both responses');
  check(Array.isArray(p3) && p3.length === 0, `page 3 is empty: ${show(p3)}`);

  step("3. expand: ['person'] (sent as expand=person): the client materializes the person");
  const expanded = await delighted.surveyResponse.all({ expand: ['person'] });
  check(expanded.length === 2, 'expanded: 2 responses');
  for (const r of expanded) {
    check(r.person && typeof r.person === 'object' && r.person.constructor === delighted.person.constructor,
      `expanded person is a person resource: ${show(r)}`);
    check(r.person.email === ANN || r.person.email === BOB, `expanded person's email: ${show(r.person)}`);
    check(ids[r.person.id] === r.person.email, `expanded person's id matches its email: ${show(r.person)}`);
  }

  step('4. Filters');
  const byEmail = await delighted.surveyResponse.all({ person_email: ANN });
  check(byEmail.length === 1 && byEmail[0].score === 10,
    `person_email=ann: one response scored 10: ${show(byEmail)}`);
  const byId = await delighted.surveyResponse.all({ person_id: people.bob });
  check(byId.length === 1 && byId[0].score === 3, `person_id=bob: one response scored 3: ${show(byId)}`);

  step('5. A response added through the API, then read back');
  const sr = await delighted.surveyResponse.create({ person: people.cat, score: 9, comment: 'Lovely' });
  check(sr.score === 9 && sr.person === people.cat && sr.comment === 'Lovely',
    `created response: score 9, cat, 'Lovely': ${show(sr)}`);
  let got = await delighted.surveyResponse.retrieve(sr.id);
  check(got.id === sr.id && got.score === 9 && got.comment === 'Lovely', `retrieve(id): ${show(got)}`);
  got = await delighted.surveyResponse.retrieve(sr.id, { expand: ['person'] });
  check(got.person && got.person.email === CAT, `retrieve(id, {expand: ['person']}): person is cat: ${show(got)}`);

  step('6. save() sends PUT /v1/survey_responses with the id in the body');
  got.comment = 'Lovelier';
  const saved = await got.save();
  check(saved.id === sr.id && saved.comment === 'Lovelier' && saved.score === 9,
    `saved: comment 'Lovelier', score 9: ${show(saved)}`);
  const again = await delighted.surveyResponse.retrieve(sr.id);
  check(again.comment === 'Lovelier' && again.score === 9, `retrieve after save: ${show(again)}`);

  step('7. No score');
  await expectError('ResourceValidationError', 'surveyResponse.create without a score',
    delighted.surveyResponse.create({ person: people.cat }));

  step('8. Metrics');
  const metrics = await delighted.metrics.retrieve();
  const counts = {
    response_count: metrics.response_count, promoter_count: metrics.promoter_count,
    detractor_count: metrics.detractor_count, passive_count: metrics.passive_count,
  };
  check(show(counts) === show({ response_count: 3, promoter_count: 2, detractor_count: 1, passive_count: 0 }),
    `metrics counts: ${show(metrics)}`);
  check('nps' in metrics, `metrics has nps: ${show(metrics)}`);

  step('9. Pending survey requests');
  let res = await delighted.surveyRequest.deletePending({ person_email: DAN });
  check(res && res.ok === true, `deletePending(dan): ${show(res)}`);

  step('10. Unsubscribes');
  res = await delighted.unsubscribe.create({ person_email: BOB });
  check(res && res.ok === true, `unsubscribe.create(bob): ${show(res)}`);
  const unsubs = await delighted.unsubscribe.all();
  const bobs = unsubs.filter((u) => u.email === BOB);
  check(bobs.length === 1, `unsubscribe.all has bob once: ${show(unsubs)}`);
  check(bobs[0].person_id === people.bob && isInt(bobs[0].unsubscribed_at),
    `bob's unsubscribe: person_id, unsubscribed_at: ${show(bobs[0])}`);

  step('11. Bounces');
  const bounces = await delighted.bounce.all();
  const bounced = bounces.filter((b) => b.email === 'bounced@example.com');
  check(bounced.length === 1 && isInt(bounced[0].bounced_at),
    `bounce.all has bounced@example.com with bounced_at: ${show(bounces)}`);

  step('12. Cursor pages of people, following the absolute Link: rel="next"');
  // By default the client retries any failed page (auto_handle_rate_limits is true for every
  // error, not only 429s) and then rejects with a PaginationError that hides the cause; with it
  // off, an error rejects as itself. Returning false from the callback does not stop the paging
  // (it only resolves early), so the callback never does. `interation_count` (sic) counts pages.
  const listing = delighted.person.list({ per_page: 2 });
  const emails = [];
  await listing.autoPagingEach((p) => { emails.push(p.email); }, { auto_handle_rate_limits: false });
  check(listing.interation_count > 1, `more than one page fetched (${listing.interation_count})`);
  for (const e of [ANN, BOB, CAT, DAN]) {
    check(emails.filter((x) => x === e).length === 1, `${e} listed exactly once: ${show(emails)}`);
  }
  check(new Set(emails).size === emails.length, `no one listed twice: ${show(emails)}`);

  step('13. Erasing a person by email takes their answers');
  res = await delighted.person.delete({ email: CAT });
  check(res && res.ok === true, `person.delete({email: cat}): ${show(res)}`);
  const left = await delighted.surveyResponse.all({ person_email: CAT });
  check(Array.isArray(left) && left.length === 0, `cat's responses are gone: ${show(left)}`);

  step("14. By id; a second time is a 404, which the client rejects as 'GeneralAPIError'");
  res = await delighted.person.delete({ id: people.dan });
  check(res && res.ok === true, `person.delete({id: dan}): ${show(res)}`);
  const err = await expectError('GeneralAPIError', 'person.delete({id: dan}) again',
    delighted.person.delete({ id: people.dan }));
  // The client keeps no status; the body (npsd's {"status": 404, ...}) is the message.
  let status = null;
  try { status = JSON.parse(err.message).status; } catch (e) { /* checked below */ }
  check(status === 404, `deleting dan again is a 404: ${err.message}`);

  return { metrics: Object.assign({}, metrics.toJSON()), checks: CHECKS };
}

async function main() {
  const phases = { people: phasePeople, rest: phaseRest };
  const phase = process.argv[2];
  if (process.argv.length !== 3 || !(phase in phases)) {
    console.error('usage: client_test.js people|rest');
    process.exitCode = 2;
    finished = true;
    return;
  }
  const watchdog = setTimeout(() => {
    console.error(`client_test.js ${phase}: FAILED at step ${STEP}: no answer within 120 s`);
    process.exit(1);
  }, 120000);
  try {
    const out = await phases[phase]();
    console.log(JSON.stringify(out));
  } catch (err) {
    if (err instanceof CheckFailed) {
      console.error(`client_test.js ${phase}: FAILED at step ${STEP} after ${CHECKS} checks: ${err.message}`);
    } else if (err && err.type) {
      console.error(`client_test.js ${phase}: FAILED at step ${STEP} after ${CHECKS} checks: unexpected ${err.type}: ${err.message}`);
    } else {
      console.error(`client_test.js ${phase}: FAILED at step ${STEP} after ${CHECKS} checks:`, err);
    }
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
    finished = true;
  }
}

// A client promise that never settles leaves Node with nothing to do: it would exit 0 silently.
process.on('exit', () => {
  if (!finished) {
    console.error(`client_test.js: FAILED at step ${STEP}: a client promise never settled`);
    process.exitCode = 1;
  }
});

main();
