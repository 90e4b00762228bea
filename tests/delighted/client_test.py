#!/usr/bin/env python3
"""Drives npsd's Delighted-compatible API (/v1/...) through the official Python client,
delighted==4.2.0, in two phases run by tests/api (see README.md in this folder).

    NPSD_URL=http://127.0.0.1:PORT NPSD_KEY=... python3 client_test.py people
    NPSD_URL=... NPSD_KEY=... PEOPLE='{"ann": ...}' python3 client_test.py rest

Exits 0 when every check passes; the last line of stdout is the phase's JSON output.
"""
import json
import os
import sys
import time
import traceback
import warnings

# The client warns on import that Delighted is being sunset; that is not ours to report.
warnings.filterwarnings("ignore", category=FutureWarning)

import delighted  # noqa: E402
from delighted.errors import (  # noqa: E402
    AuthenticationError,
    DelightedError,
    GeneralAPIError,
    ResourceValidationError,
)

CHECKS = 0
STEP = "start"


def step(name):
    """Names the step under way, for the failure message."""
    global STEP
    STEP = name


def check(cond, what):
    """An assertion that is not stripped by -O and counts what passed."""
    global CHECKS
    if not cond:
        raise AssertionError(what)
    CHECKS += 1


def expect_error(kind, what, call, *args, **kwargs):
    """`call` must fail with exactly the client's `kind` error; returns the error."""
    try:
        result = call(*args, **kwargs)
    except kind as e:
        check(True, what)
        return e
    except DelightedError as e:
        raise AssertionError(
            "%s: expected %s, got %s %r" % (what, kind.__name__, type(e).__name__, e)
        )
    raise AssertionError("%s: expected %s, got success: %r" % (what, kind.__name__, result))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def env(name):
    v = os.environ.get(name)
    if not v:
        raise SystemExit("client_test.py: the environment variable %s is required" % name)
    return v


URL = env("NPSD_URL").rstrip("/")
# npsd's clock in the test starts at a fixed instant: its distance from this machine's clock.
CLOCK_AHEAD = int(env("NPSD_CLOCK_AHEAD_SECONDS"))


def app_now():
    """npsd's time now, in Unix seconds."""
    return int(time.time()) + CLOCK_AHEAD

KEY = env("NPSD_KEY")
delighted.api_base_url = URL + "/v1/"
delighted.api_key = KEY

ANN, BOB, CAT, DAN = (n + "@example.com" for n in ("ann", "bob", "cat", "dan"))


def phase_people():
    # 1. A wrong key is refused with the client's AuthenticationError.
    step("1. A wrong key is refused with the client's AuthenticationError")
    wrong = delighted.Client(api_key="wrong", api_base_url=URL + "/v1/")
    expect_error(AuthenticationError, "wrong key: Metrics.retrieve", delighted.Metrics.retrieve, client=wrong)
    expect_error(AuthenticationError, "wrong key: Person.create", delighted.Person.create,
                 client=wrong, email="nobody@example.com")

    # 2.-5. People, with and without a survey email scheduled.
    step('2.-5. People, with and without a survey email scheduled')
    now = app_now()
    ann = delighted.Person.create(
        email=ANN, name="Ann",
        properties={"plan": "pro", "question_product_name": "the Acme Kettle"},
    )
    check(isinstance(ann, delighted.Person), "Person.create returns a delighted.Person: %r" % (ann,))
    check(isinstance(ann.id, str) and ann.id, "ann: id is a non-empty string: %r" % (ann,))
    check(ann.email == ANN, "ann: email %r" % (ann.get("email"),))
    check(ann.get("name") == "Ann", "ann: name %r" % (ann.get("name"),))
    check(is_int(ann.survey_scheduled_at), "ann: survey_scheduled_at is an int: %r" % (ann,))
    check(abs(ann.survey_scheduled_at - now) < 120,
          "ann: survey_scheduled_at %r is about now (%d)" % (ann.survey_scheduled_at, now))

    bob = delighted.Person.create(email=BOB, name="Bob", properties={"plan": "free"})
    check(isinstance(bob.id, str) and bob.id, "bob: id is a non-empty string: %r" % (bob,))
    check(bob.id != ann.id, "bob and ann have different ids")
    check(bob.email == BOB, "bob: email %r" % (bob.get("email"),))
    check(is_int(bob.survey_scheduled_at), "bob: survey_scheduled_at is an int: %r" % (bob,))

    cat = delighted.Person.create(email=CAT, name="Cat", send=False)
    check(isinstance(cat.id, str) and cat.id, "cat: id is a non-empty string: %r" % (cat,))
    check(cat.email == CAT, "cat: email %r" % (cat.get("email"),))
    check("survey_scheduled_at" in cat and cat.survey_scheduled_at is None,
          "cat (send=False): survey_scheduled_at is None: %r" % (cat,))

    now = app_now()
    dan = delighted.Person.create(email=DAN, delay=3600)
    check(isinstance(dan.id, str) and dan.id, "dan: id is a non-empty string: %r" % (dan,))
    check(is_int(dan.survey_scheduled_at) and dan.survey_scheduled_at >= now + 3500,
          "dan (delay=3600): survey_scheduled_at %r >= now+3500 (%d)" % (dan.get("survey_scheduled_at"), now + 3500))
    check(len({ann.id, bob.id, cat.id, dan.id}) == 4, "four different ids")

    # 6. No email: the client's ResourceValidationError.
    step("6. No email: the client's ResourceValidationError")
    expect_error(ResourceValidationError, "Person.create without an email",
                 delighted.Person.create, name="No Email")

    return {"ann": ann.id, "bob": bob.id, "cat": cat.id, "dan": dan.id}


def phase_rest():
    people = json.loads(env("PEOPLE"))
    ids = {people["ann"]: ANN, people["bob"]: BOB}

    # 1. The two answers given in the emails.
    step('1. The two answers given in the emails')
    responses = delighted.SurveyResponse.all()
    check(isinstance(responses, list), "SurveyResponse.all returns a list")
    check(len(responses) == 2, "SurveyResponse.all: 2 responses, got %d: %r" % (len(responses), responses))
    check(sorted(r.score for r in responses) == [3, 10],
          "scores are {10, 3}: %r" % ([r.get("score") for r in responses],))
    for r in responses:
        check(isinstance(r, delighted.SurveyResponse), "a delighted.SurveyResponse: %r" % (r,))
        check(isinstance(r.id, str) and r.id, "response id is a non-empty string: %r" % (r,))
        check(isinstance(r.person, str) and r.person in ids, "response person is ann's or bob's id: %r" % (r,))
        want = 10 if ids[r.person] == ANN else 3
        check(r.score == want, "%s's score is %d: %r" % (ids[r.person], want, r))
        check(r.survey_type == "nps", "survey_type nps: %r" % (r,))
        check(is_int(r.created_at) and is_int(r.updated_at), "created_at/updated_at ints: %r" % (r,))
        for field in ("notes", "tags", "additional_answers"):
            check(isinstance(r.get(field), list), "%s is a list: %r" % (field, r))
        check(isinstance(r.permalink, str) and r.permalink.startswith(URL),
              "permalink %r starts with %s" % (r.get("permalink"), URL))
    check(len({r.person for r in responses}) == 2, "one response each from ann and bob")

    # 2. Numbered pages.
    step('2. Numbered pages')
    p1 = delighted.SurveyResponse.all(per_page=1, page=1)
    p2 = delighted.SurveyResponse.all(per_page=1, page=2)
    p3 = delighted.SurveyResponse.all(per_page=1, page=3)
    check(len(p1) == 1 and len(p2) == 1, "per_page=1: pages 1 and 2 hold 1 each: %r %r" % (p1, p2))
    check(p1[0].id != p2[0].id, "pages 1 and 2 differ")
    check({p1[0].id, p2[0].id} == {r.id for r in responses}, "pages 1 and 2 hold both responses")
    check(p3 == [], "page 3 is empty: %r" % (p3,))

    # 3. expand=['person'] (sent as expand[]=person): the client builds delighted.Person objects.
    step("3. expand=['person'] (sent as expand[]=person): the client builds delighted.Person objects")
    expanded = delighted.SurveyResponse.all(expand=["person"])
    check(len(expanded) == 2, "expanded: 2 responses")
    for r in expanded:
        check(isinstance(r.person, delighted.Person), "expanded person is a delighted.Person: %r" % (r,))
        check(r.person.email in (ANN, BOB), "expanded person's email: %r" % (r.person,))
        check(r.person.id in ids and ids[r.person.id] == r.person.email,
              "expanded person's id matches its email: %r" % (r.person,))

    # 4. Filters.
    step('4. Filters')
    by_email = delighted.SurveyResponse.all(person_email=ANN)
    check(len(by_email) == 1 and by_email[0].score == 10,
          "person_email=ann: one response scored 10: %r" % (by_email,))
    by_id = delighted.SurveyResponse.all(person_id=people["bob"])
    check(len(by_id) == 1 and by_id[0].score == 3,
          "person_id=bob: one response scored 3: %r" % (by_id,))

    # 5. A response added through the API, then read back.
    step('5. A response added through the API, then read back')
    sr = delighted.SurveyResponse.create(person=people["cat"], score=9, comment="Lovely")
    check(isinstance(sr, delighted.SurveyResponse), "create returns a SurveyResponse")
    check(sr.score == 9 and sr.person == people["cat"] and sr.comment == "Lovely",
          "created response: score 9, cat, 'Lovely': %r" % (sr,))
    got = delighted.SurveyResponse.retrieve(sr.id)
    check(got.id == sr.id and got.score == 9 and got.comment == "Lovely",
          "retrieve(id): %r" % (got,))
    got = delighted.SurveyResponse.retrieve(sr.id, expand=["person"])
    check(isinstance(got.person, delighted.Person) and got.person.email == CAT,
          "retrieve(id, expand=['person']): person is cat: %r" % (got,))

    # 6. save() sends PUT /v1/survey_responses/<id> with the whole object (expanded person too).
    step('6. save() sends PUT /v1/survey_responses/<id> with the whole object (expanded person too)')
    got.comment = "Lovelier"
    saved = got.save()
    check(isinstance(saved, delighted.SurveyResponse), "save returns a SurveyResponse")
    check(saved.id == sr.id and saved.comment == "Lovelier" and saved.score == 9,
          "saved: comment 'Lovelier', score 9: %r" % (saved,))
    again = delighted.SurveyResponse.retrieve(sr.id)
    check(again.comment == "Lovelier" and again.score == 9, "retrieve after save: %r" % (again,))
    # And a non-expanded object saved back (person as a plain id string).
    again.score = 8
    saved = again.save()
    check(saved.score == 8 and saved.comment == "Lovelier", "save of a changed score: %r" % (saved,))
    saved.score = 9
    saved = saved.save()
    check(saved.score == 9, "score set back to 9: %r" % (saved,))

    # 7. No score.
    step('7. No score')
    expect_error(ResourceValidationError, "SurveyResponse.create without a score",
                 delighted.SurveyResponse.create, person=people["cat"])

    # 8. Metrics.
    step('8. Metrics')
    metrics = delighted.Metrics.retrieve()
    check(isinstance(metrics, delighted.Metrics), "Metrics.retrieve returns delighted.Metrics")
    counts = {k: metrics.get(k) for k in ("response_count", "promoter_count", "detractor_count", "passive_count")}
    check(counts == {"response_count": 3, "promoter_count": 2, "detractor_count": 1, "passive_count": 0},
          "metrics counts: %r" % (dict(metrics),))
    check("nps" in metrics, "metrics has nps: %r" % (dict(metrics),))

    # 9. Pending survey requests.
    step('9. Pending survey requests')
    res = delighted.SurveyRequest.delete_pending(person_email=DAN)
    check(isinstance(res, dict) and res.get("ok") is True, "delete_pending(dan): %r" % (res,))

    # 10. Unsubscribes.
    step('10. Unsubscribes')
    res = delighted.Unsubscribe.create(person_email=BOB)
    check(res.get("ok") is True, "Unsubscribe.create(bob): %r" % (res,))
    unsubs = delighted.Unsubscribe.all()
    bobs = [u for u in unsubs if u.get("email") == BOB]
    check(len(bobs) == 1, "Unsubscribe.all has bob once: %r" % (unsubs,))
    check(bobs[0].get("person_id") == people["bob"] and is_int(bobs[0].get("unsubscribed_at")),
          "bob's unsubscribe: person_id, unsubscribed_at: %r" % (bobs[0],))

    # 11. Bounces.
    step('11. Bounces')
    bounces = delighted.Bounce.all()
    bounced = [b for b in bounces if b.get("email") == "bounced@example.com"]
    check(len(bounced) == 1 and is_int(bounced[0].get("bounced_at")),
          "Bounce.all has bounced@example.com with bounced_at: %r" % (bounces,))

    # 12. Cursor pages of people, following the absolute Link: rel="next".
    step('12. Cursor pages of people, following the absolute Link: rel="next"')
    listing = delighted.Person.list(per_page=2)
    emails = []
    for p in listing.auto_paging_iter():
        check(isinstance(p, delighted.Person), "auto_paging_iter yields delighted.Person: %r" % (p,))
        emails.append(p.email)
    check(listing.iteration_count > 1, "more than one page fetched (%d)" % listing.iteration_count)
    for e in (ANN, BOB, CAT, DAN):
        check(emails.count(e) == 1, "%s listed exactly once: %r" % (e, emails))
    check(len(emails) == len(set(emails)), "no one listed twice: %r" % (emails,))

    # 13. Erasing a person by email takes their answers.
    step('13. Erasing a person by email takes their answers')
    res = delighted.Person.delete(email=CAT)
    check(res == {"ok": True}, "Person.delete(email=cat): %r" % (res,))
    left = delighted.SurveyResponse.all(person_email=CAT)
    check(left == [], "cat's responses are gone: %r" % (left,))

    # 14. By id; a second time is a 404, which the client raises as GeneralAPIError.
    step('14. By id; a second time is a 404, which the client raises as GeneralAPIError')
    res = delighted.Person.delete(id=people["dan"])
    check(res == {"ok": True}, "Person.delete(id=dan): %r" % (res,))
    e = expect_error(GeneralAPIError, "Person.delete(id=dan) again", delighted.Person.delete, id=people["dan"])
    check(e.response.status_code == 404, "deleting dan again is a 404: %r" % (e,))

    return {"metrics": dict(metrics), "checks": CHECKS}


def main():
    phases = {"people": phase_people, "rest": phase_rest}
    if len(sys.argv) != 2 or sys.argv[1] not in phases:
        sys.stderr.write("usage: client_test.py people|rest\n")
        return 2
    try:
        out = phases[sys.argv[1]]()
    except AssertionError as e:
        sys.stderr.write("client_test.py %s: FAILED at step %s after %d checks: %s\n"
                         % (sys.argv[1], STEP, CHECKS, e))
        return 1
    except DelightedError as e:
        sys.stderr.write("client_test.py %s: FAILED at step %s after %d checks: unexpected %s %r\n"
                         % (sys.argv[1], STEP, CHECKS, type(e).__name__, e))
        return 1
    except Exception:
        traceback.print_exc()
        sys.stderr.write("client_test.py %s: FAILED at step %s after %d checks (exception above)\n"
                         % (sys.argv[1], STEP, CHECKS))
        return 1
    print(json.dumps(out))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
