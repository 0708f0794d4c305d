#!/usr/bin/env python3
"""Browser test of the memory browser (memory-server's /ui/), run by
tests/service.sh: Debian's chromium driven headless through chromedriver by
a pinned selenium, against the test service (tenant isolation on).

It signs in with a project key, lists users, searches and finds the
expected hit first (with each channel's rank shown), opens its history,
edits it (and reads the change back in SQL), deletes a memory and a whole
scope through the confirmation dialog (cancelling once), shows a memory
holding HTML as text, pages through 10k memories, draws the graph now and
in the past, and checks that a user key cannot reach another user's
memories. A screenshot of each page is saved under --shots.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--key-a", required=True, help="user key of alice")
ap.add_argument("--key-b", required=True, help="user key of bob")
ap.add_argument("--project-key", required=True)
ap.add_argument("--pg-port", required=True)
ap.add_argument("--db", required=True)
ap.add_argument("--shots", required=True, help="folder for the screenshots")
ap.add_argument("--chromium", default="/usr/bin/chromium")
ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
args = ap.parse_args()

failures = []
passed = 0


def check(cond, what):
    global passed
    if cond:
        passed += 1
        print(f"  ok   {what}")
    else:
        failures.append(what)
        print(f"  FAIL {what}")


def sql(q):
    out = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "localhost", "-p", args.pg_port,
         "-U", "postgres", "-d", args.db, "-c", q],
        check=True, capture_output=True, text=True)
    return out.stdout.strip()


def rest(method, path, key, body=None):
    req = urllib.request.Request(args.url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Token {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


# ------------------------------------------------------------ data

alice = [
    "My favourite food is ramen",
    "I love hiking in the Alps",
    "I work as a nurse at the city hospital",
    "My sister Maria lives in Porto",
    "I play the cello on Sundays",
]
HTML = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> is what I typed'
rest("POST", "/v3/memories/add/", args.key_a,
     {"messages": [{"role": "user", "content": t} for t in alice + [HTML]], "user_id": "alice", "infer": False})
rest("POST", "/v3/memories/add/", args.key_a,
     {"messages": [{"role": "user", "content": "Adam is John's father."}], "user_id": "alice"})
before_graph = sql("SELECT now()")
time.sleep(1.1)
rest("POST", "/v3/memories/add/", args.key_a,
     {"messages": [{"role": "user", "content": "Maria is Ana's mother."}], "user_id": "alice"})
rest("POST", "/v3/memories/add/", args.project_key,
     {"messages": [{"role": "user", "content": t} for t in ["I like tea", "I own a bike", "I live in Oslo"]],
      "user_id": "carol", "infer": False})
rest("POST", "/v3/memories/add/", args.key_b,
     {"messages": [{"role": "user", "content": "I collect stamps"}], "user_id": "bob", "infer": False})
# 10k memories for one user, written directly (the vectors copied): the
# listing's paging is what is tested here, not the embedder.
sql("""INSERT INTO memory.memories (user_id, memory, hash, embedding, embedder, created_at, updated_at, valid_from)
       SELECT 'bulk', format('Note %s on topic %s', i, i % 37), md5('bulk' || i), t.embedding, t.embedder,
              now() - make_interval(secs => 10000 - i), now() - make_interval(secs => 10000 - i),
              now() - make_interval(secs => 10000 - i)
       FROM generate_series(1, 10000) i,
            (SELECT embedding, embedder FROM memory.memories WHERE user_id = 'alice' LIMIT 1) t""")
check(sql("SELECT count(*) FROM memory.memories WHERE user_id = 'bulk'") == "10000", "10k memories for user bulk")
check(sql("SELECT count(*) FROM memory.relations WHERE user_id = 'alice' AND valid_to IS NULL") == "2",
      "alice's two relations (the built-in extractor)")

# ------------------------------------------------------------ browser

opts = Options()
opts.binary_location = args.chromium
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1280,1000", "--lang=en-US", "--no-first-run", "--disable-extensions"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=opts)
os.makedirs(args.shots, exist_ok=True)
timings = {}


def renders():
    return driver.execute_script("return window.memoryBrowser ? window.memoryBrowser.renders : 0")


def view():
    return driver.execute_script("return document.getElementById('main').dataset.view || ''")


def wait_render(r0, timeout=30):
    WebDriverWait(driver, timeout, poll_frequency=0.01).until(lambda d: renders() > r0)
    return view()


def go(hash_, name=None):
    r0 = renders()
    t0 = time.perf_counter()
    driver.execute_script("location.hash = arguments[0]", hash_)
    v = wait_render(r0)
    if name:
        timings[name] = ((time.perf_counter() - t0) * 1000, driver.execute_script("return window.memoryBrowser.lastMs"))
    return v


def click_and_render(el):
    r0 = renders()
    el.click()
    return wait_render(r0)


def shot(name):
    driver.save_screenshot(os.path.join(args.shots, f"{name}.png"))


def find(css):
    return driver.find_element(By.CSS_SELECTOR, css)


def finds(css):
    return driver.find_elements(By.CSS_SELECTOR, css)


def text(css):
    return find(css).text


def dialog_text():
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.getElementById('confirm').open"))
    return text("#confirm-text")


def sign_in(key):
    driver.get(args.url + "/ui/")
    WebDriverWait(driver, 30).until(lambda d: view() == "login" or view() == "scopes")
    if view() == "scopes":
        click_and_render(find("#sign-out"))
    box = find("#key")
    box.clear()
    box.send_keys(key)
    return click_and_render(find("#sign-in"))


try:
    # The page and its headers.
    with urllib.request.urlopen(args.url + "/ui/", timeout=10) as r:
        csp = r.headers.get("Content-Security-Policy", "")
        check("script-src 'self'" in csp and "unsafe-inline" not in csp, "the page is served with a CSP without inline script")
    driver.get(args.url + "/ui/")
    WebDriverWait(driver, 30).until(lambda d: view() == "login")
    shot("01-sign-in")

    # A wrong key is refused and nothing is kept.
    find("#key").send_keys("not-a-key")
    find("#sign-in").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#login + div .error"))
    check("refused" in text("#login + div .error"), "a wrong key is refused")
    check(driver.execute_script("return sessionStorage.getItem('memory_ext.key')") is None, "a refused key is not kept")

    # Sign in with the project key: every user is listed.
    find("#key").clear()
    check(sign_in(args.project_key) == "scopes", "signed in with a project key")
    names = [tr.find_elements(By.TAG_NAME, "td")[1].text for tr in finds("#scopes tbody tr")]
    check({"alice", "bob", "carol", "bulk"} <= set(names), f"the users are listed ({', '.join(sorted(names))})")
    check(args.project_key not in driver.current_url, "the key is not in the URL")
    check(driver.execute_script("return window.localStorage.length") == 0, "nothing in local storage")
    check("project key" in text("#who"), "the key's kind is shown")
    shot("02-scopes")

    # One user's memories.
    click_and_render(driver.find_element(By.LINK_TEXT, "alice"))
    check(view() == "scope" and text("#scope-name") == "alice", "alice's page opens")
    rows = finds("#memories tbody tr")
    check(len(rows) == 8, f"alice's 8 memories are listed ({len(rows)})")
    shot("03-scope")

    # The memory holding HTML is text: shown verbatim, nothing ran.
    cells = [c.text for c in finds("#memories td.memory")]
    check(HTML in cells, "a memory holding HTML is shown as text")
    check(driver.execute_script("return window.__xss === undefined"), "its script did not run")
    check(not finds("#memories td.memory img, #memories td.memory script"), "no element was made from it")

    # Search: the expected hit first, with each channel's rank and score.
    box = find("#search-q")
    box.send_keys("what food do I like?")
    click_and_render(find("#search-go"))
    hits = finds("#hits tbody tr")
    first = hits[0].find_element(By.CSS_SELECTOR, "td.memory").text if hits else ""
    check(first == "My favourite food is ramen", f"search finds the food memory first ({first!r})")
    check("vector #" in hits[0].find_element(By.CSS_SELECTOR, ".explain").text if hits else False,
          "the hit shows its channels' ranks")
    shot("04-search")

    # Its history, then an edit, read back in SQL.
    click_and_render(hits[0].find_element(By.CSS_SELECTOR, "a.memory-link"))
    check(view() == "memory", "the memory page opens")
    mem_id = driver.execute_script("return location.hash").split("/")[-1]
    events = [li.get_attribute("data-event") for li in finds("#history li")]
    check(events == ["ADD"], f"its history starts with ADD ({events})")
    t = find("#edit-text")
    t.clear()
    t.send_keys("My favourite food is pho")
    m = find("#edit-metadata")
    m.clear()
    m.send_keys('{"source": "browser"}')
    click_and_render(find("#edit-save"))
    check(sql(f"SELECT memory || ' ' || metadata::text FROM memory.memories WHERE id = '{mem_id}'")
          == 'My favourite food is pho {"source": "browser"}', "the edit is in the database")
    events = [li.get_attribute("data-event") for li in finds("#history li")]
    check(events == ["ADD", "UPDATE"], f"the history shows the update ({events})")
    upd = finds("#history li")[-1]
    check(upd.find_element(By.CSS_SELECTOR, ".old").text == "My favourite food is ramen"
          and upd.find_element(By.CSS_SELECTOR, ".new").text == "My favourite food is pho",
          "the update shows the old and the new text")
    shot("05-memory")

    # Delete one memory from the list: cancel first, then confirm.
    go("#/scope/user/alice")
    cello_id = sql("SELECT id FROM memory.memories WHERE user_id = 'alice' AND memory = 'I play the cello on Sundays'")
    row = next(r for r in finds("#memories tbody tr")
               if r.find_element(By.CSS_SELECTOR, "td.memory").text == "I play the cello on Sundays")
    row.find_element(By.CSS_SELECTOR, "button.row-delete").click()
    check("I play the cello on Sundays" in dialog_text(), "the delete dialog names the memory")
    find("#confirm-cancel").click()
    check(sql("SELECT count(*) FROM memory.memories WHERE user_id = 'alice' AND memory = 'I play the cello on Sundays'") == "1",
          "cancel keeps it")
    row = next(r for r in finds("#memories tbody tr")
               if r.find_element(By.CSS_SELECTOR, "td.memory").text == "I play the cello on Sundays")
    row.find_element(By.CSS_SELECTOR, "button.row-delete").click()
    dialog_text()
    r0 = renders()
    find("#confirm-ok").click()
    wait_render(r0)
    check(sql("SELECT count(*) FROM memory.memories WHERE user_id = 'alice' AND memory = 'I play the cello on Sundays'") == "0",
          "confirm deletes it")
    check(len(finds("#memories tbody tr")) == 7, "and the list shows 7")
    # A deleted memory's history stays readable (as in Mem0).
    go(f"#/memory/{cello_id}")
    events = [li.get_attribute("data-event") for li in finds("#history li")]
    check(view() == "memory" and text("h1") == "Memory (deleted)" and events == ["ADD", "DELETE"],
          f"a deleted memory's page shows its history ({events})")
    go("#/scope/user/alice")

    # The graph, now and before the second relation.
    click_and_render(find("#graph-link"))
    rels = [" ".join(td.text for td in tr.find_elements(By.TAG_NAME, "td")[:3]) for tr in finds("#relations tbody tr")]
    check(len(rels) == 2 and len(finds("#graph-svg .node")) == 4, f"the graph draws 4 entities and 2 relations ({rels})")
    shot("06-graph")
    go(f"#/graph/user/alice?as_of={urllib.parse.quote(before_graph)}")
    rels = [" ".join(td.text for td in tr.find_elements(By.TAG_NAME, "td")[:3]) for tr in finds("#relations tbody tr")]
    check(len(rels) == 1 and "Adam" in rels[0], f"as_of shows the graph before the second relation ({rels})")
    check(find("#as-of").get_attribute("type") == "range", "the as-of slider is there")

    # 10k memories: paged.
    go("#/scope/user/bulk", "scope of 10k memories, page 1")
    check(text("#page-info") == "Page 1 of 200 · 10000 memories", f"10k memories in pages ({text('#page-info')})")
    check(len(finds("#memories tbody tr")) == 50, "50 on a page")
    r0 = renders()
    t0 = time.perf_counter()
    find("#next").click()
    wait_render(r0)
    timings["scope of 10k memories, page 2"] = ((time.perf_counter() - t0) * 1000,
                                                driver.execute_script("return window.memoryBrowser.lastMs"))
    check(text("#page-info").startswith("Page 2 of 200"), "the next page")
    go("#/scope/user/bulk?page=200", "scope of 10k memories, last page")
    check(len(finds("#memories tbody tr")) == 50 and text("#page-info").startswith("Page 200 of 200"), "the last page")
    go("#/", "scopes")
    shot("07-bulk")

    # Delete a whole scope: the dialog names the count.
    go("#/scope/user/carol")
    find("#delete-scope").click()
    msg = dialog_text()
    check("3 memories" in msg and "carol" in msg, f"the scope dialog names the count ({msg!r})")
    find("#confirm-cancel").click()
    check(sql("SELECT count(*) FROM memory.memories WHERE user_id = 'carol'") == "3", "cancel keeps the scope")
    find("#delete-scope").click()
    dialog_text()
    r0 = renders()
    find("#confirm-ok").click()
    wait_render(r0)
    check(sql("SELECT count(*) FROM memory.memories WHERE user_id = 'carol'") == "0", "confirm deletes the scope")
    check(finds("#empty"), "the page says it is empty")

    # Keyboard: the search box is reachable and Enter searches.
    go("#/scope/user/alice")
    box = find("#search-q")
    box.send_keys("nurse")
    r0 = renders()
    box.send_keys(Keys.ENTER)
    wait_render(r0)
    first = finds("#hits td.memory")
    check(first and first[0].text == "I work as a nurse at the city hospital", "Enter in the search box searches")

    # Narrow screen: the table scrolls inside its box, the page does not.
    driver.set_window_size(390, 844)
    go("#/scope/user/alice")
    overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    check(overflow <= 1, f"no sideways scrolling of the page on a narrow screen ({overflow}px)")
    shot("08-narrow")
    driver.set_window_size(1280, 1000)

    # A user key: only its own user; another user's memories unreachable.
    check(sign_in(args.key_b) == "scopes", "signed in with bob's user key")
    names = [tr.find_elements(By.TAG_NAME, "td")[1].text for tr in finds("#scopes tbody tr")]
    check(names == ["bob"], f"bob's key lists only bob ({names})")
    check(go("#/scope/user/alice") == "error" and "another user" in text(".error"),
          "alice's page is refused to bob's key")
    alice_id = sql("SELECT id FROM memory.memories WHERE user_id = 'alice' AND memory = 'I love hiking in the Alps'")
    check(go(f"#/memory/{alice_id}") == "error" and "not found" in text(".error").lower(),
          "alice's memory is not found with bob's key")
    check(go("#/graph/user/alice") == "error", "alice's graph is refused to bob's key")
    shot("09-other-user")
    click_and_render(find("#sign-out"))
    check(view() == "login" and driver.execute_script("return sessionStorage.length") == 0,
          "signing out forgets the key")
except TimeoutException as e:
    failures.append(f"timed out waiting for the page ({e.msg or 'no detail'}) in view {view()!r}")
    shot("timeout")
finally:
    logs = []
    try:
        logs = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    except Exception:  # noqa: BLE001 - not every driver keeps logs
        pass
    driver.quit()

# Errors the page logged (a 4xx the test caused shows as a failed resource).
unexpected = [entry["message"] for entry in logs
              if "Failed to load resource" not in entry["message"]]
check(not unexpected, f"no script errors in the browser console {unexpected[:3]}")

print("  page loads (client ms incl. the REST call / render ms):")
for k, (total, rendered) in timings.items():
    print(f"    {k}: {total:.0f} / {rendered:.0f}")
print(f"ui: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
