"""The data dictionary in a real headless browser (Debian's chromium through chromedriver and Selenium), and
per viewer against the catalog: what a user finds on the page is what psql's catalog shows that user.

One browser session for the module. The screenshot is a test artifact: it is written to the test's
temporary directory, and to ``$LENS_PROXY_ARTIFACTS`` when that is set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rewriter.load import load_lens
from tests.conftest import LENS_DIR
from tests.proxy.ops.conftest import GOVERNED, PASSWORDS, USERS, http_get

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1400,1000")


@pytest.fixture(scope="module")
def browser(ops_server, tmp_path_factory) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).exists(), f"{path} missing: apt-get install chromium chromium-driver (.ci/run does)"
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        import base64

        token = base64.b64encode(f"admin:{PASSWORDS['admin']}".encode()).decode()
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}})
        driver.get(ops_server.url("/"))
        yield driver
    finally:
        driver.quit()


def _section(driver, lens: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, f"lens-{lens}")


def test_every_entity_and_member_of_the_seed_lens_is_on_the_page(browser, tmp_path_factory):
    from selenium.webdriver.common.by import By

    lens = load_lens(LENS_DIR)
    section = _section(browser, lens.name)
    assert browser.find_element(By.ID, "viewer").text == "admin"
    entities = section.find_elements(By.CSS_SELECTOR, "article.entity")
    assert [e.get_attribute("data-entity") for e in entities] == [e.name for e in lens.entities]
    for entity, article in zip(lens.entities, entities, strict=True):
        assert article.is_displayed()
        rows = article.find_elements(By.CSS_SELECTOR, "tr.member")
        assert [r.get_attribute("data-member") for r in rows] == [m.name for m in entity.members]
        for member, row in zip(entity.members, rows, strict=True):
            assert row.get_attribute("data-kind") == member.kind
            assert row.get_attribute("data-hidden") == ("true" if member.hidden else "false")
            if member.description:
                assert " ".join(member.description.split()) in " ".join(row.text.split())
            if member.kind == "measure":
                assert row.find_element(By.CSS_SELECTOR, "pre.example-sql").text.startswith("SELECT")
    browser.save_screenshot(str(_artifact(tmp_path_factory, "data-dictionary.png")))


def test_the_diagram_draws_every_relationship_between_the_entity_boxes(browser):
    from selenium.webdriver.common.by import By

    lens = load_lens(LENS_DIR)
    svg = _section(browser, lens.name).find_element(By.CSS_SELECTOR, "svg.diagram")
    boxes = browser.execute_script("""
        const out = {};
        arguments[0].querySelectorAll('g.node').forEach(g => {
          const r = g.querySelector('rect').getBBox();
          out[g.dataset.entity] = [r.x, r.y, r.width, r.height];
        });
        return out;""", svg)
    assert set(boxes) == {e.name for e in lens.entities}
    assert all(w > 50 and h > 20 for _, _, w, h in boxes.values())
    drawn = browser.execute_script("""
        return Array.from(arguments[0].querySelectorAll('g.edge')).map(g => {
          const p = g.querySelector('path'), n = p.getTotalLength();
          const a = p.getPointAtLength(0), b = p.getPointAtLength(n);
          return [g.dataset.source, g.dataset.target, g.dataset.kind, a.x, a.y, b.x, b.y, n,
                  g.querySelector('text').textContent];
        });""", svg)
    declared = sorted((e.name, r.target, r.kind) for e in lens.entities for r in e.relationships)
    assert sorted((s, t, k) for s, t, k, *_ in drawn) == declared

    def on_border(x: float, y: float, box: list[float]) -> bool:
        bx, by, bw, bh = box
        return (bx - 2 <= x <= bx + bw + 2 and by - 2 <= y <= by + bh + 2
                and min(abs(x - bx), abs(x - bx - bw), abs(y - by), abs(y - by - bh)) <= 2)

    for source, target, kind, ax, ay, bx, by, length, label in drawn:
        assert length > 20 and label == kind
        assert on_border(ax, ay, boxes[source]), (source, ax, ay, boxes[source])
        assert on_border(bx, by, boxes[target]), (target, bx, by, boxes[target])


def test_search_filters_members_and_entities(browser, tmp_path_factory):
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, "search")
    total = len(browser.find_elements(By.CSS_SELECTOR, "tr.member"))
    box.clear()
    box.send_keys("frequency")
    shown = [r for r in browser.find_elements(By.CSS_SELECTOR, "tr.member") if r.is_displayed()]
    assert shown and len(shown) < total
    for row in shown:
        assert "frequency" in row.get_attribute("data-search")
    names = {r.get_attribute("data-member") for r in shown}
    assert "frequency" in names and "customer_name" not in names
    section = _section(browser, "customer_360")
    visible = {a.get_attribute("data-entity") for a in section.find_elements(By.CSS_SELECTOR, "article.entity")
               if a.is_displayed()}
    assert visible == {"order_placed", "order_rejected"}  # the entities with a frequency measure
    assert browser.find_element(By.ID, "count").text == f"{len(shown)} members"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", shown[0])
    browser.save_screenshot(str(_artifact(tmp_path_factory, "data-dictionary-search.png")))
    box.send_keys("xyzzy-nothing")
    assert not any(r.is_displayed() for r in browser.find_elements(By.CSS_SELECTOR, "tr.member"))
    browser.execute_script("arguments[0].value=''; arguments[0].dispatchEvent(new Event('input'));", box)
    assert sum(r.is_displayed() for r in browser.find_elements(By.CSS_SELECTOR, "tr.member")) == total


def test_nothing_outside_loads(browser, ops_server):
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);")
    assert all(url.startswith(f"http://127.0.0.1:{ops_server.http_port}/") or url.startswith("data:")
               for url in resources), resources
    status, headers, _ = http_get(ops_server.url("/"), auth=("admin", PASSWORDS["admin"]))
    assert status == 200 and "default-src 'none'" in headers["content-security-policy"]
    logs = browser.get_log("browser") if hasattr(browser, "get_log") else []
    assert not [entry for entry in logs if entry.get("level") == "SEVERE"], logs


class _Rows(HTMLParser):
    """(lens, entity, member, hidden) of every member row, and every example query, of a dictionary page."""

    def __init__(self) -> None:
        super().__init__()
        self.lens = self.entity = ""
        self.rows: list[tuple[str, str, str, bool]] = []
        self.examples: list[tuple[str, str]] = []
        self._in_example = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-lens" in a:
            self.lens = a["data-lens"]
        elif tag == "article" and "data-entity" in a:
            self.entity = a["data-entity"]
        elif tag == "tr" and "data-member" in a:
            self.rows.append((self.lens, self.entity, a["data-member"], a["data-hidden"] == "true"))
        elif tag == "pre" and a.get("class") == "example-sql":
            self._in_example = True
            self.examples.append((self.lens, ""))

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_example = False

    def handle_data(self, data):
        if self._in_example:
            lens, text = self.examples[-1]
            self.examples[-1] = (lens, text + data)


def _page(ops_server, user: str) -> _Rows:
    status, _, body = http_get(ops_server.url("/"), auth=(user, PASSWORDS[user]))
    assert status == 200
    parser = _Rows()
    parser.feed(body.decode())
    return parser


def test_each_viewer_sees_what_the_catalog_shows_them(ops_server):
    governed = load_lens(GOVERNED).name
    for user in USERS:
        rows = _page(ops_server, user).rows
        listed = {(e, m) for lens, e, m, hidden in rows if lens == governed and not hidden}
        with ops_server.connect(user, governed) as conn:
            catalog = set(conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                                       "WHERE table_schema = 'public'").fetchall())
        assert listed == catalog, user
    sales = {(e, m) for lens, e, m, _ in _page(ops_server, "sales").rows if lens == governed}
    admin = {(e, m) for lens, e, m, _ in _page(ops_server, "admin").rows if lens == governed}
    assert sales < admin


def test_the_page_asks_for_the_users_file_password(ops_server):
    status, headers, _ = http_get(ops_server.url("/"))
    assert status == 401 and headers["www-authenticate"].startswith("Basic")
    assert http_get(ops_server.url("/"), auth=("admin", "wrong"))[0] == 401
    assert http_get(ops_server.url("/"), auth=("nobody", "x"))[0] == 401
    assert http_get(ops_server.url("/metrics"))[0] == 200  # probes and metrics stay open


def test_every_example_query_runs_and_one_matches_the_raw_tables(ops_server, truth):
    page = _page(ops_server, "admin")
    assert len(page.examples) >= 10
    for lens, sql in page.examples:
        with ops_server.connect("admin", lens) as conn:
            rows = conn.execute(sql).fetchall()
            assert rows, sql
    example = next(sql for lens, sql in page.examples if lens == "customer_360" and "count_customers" in sql)
    with ops_server.connect("admin", "customer_360") as conn:
        got = [row[1] for row in conn.execute(example).fetchall()]
    group = example.split("\n")[0].split()[1].rstrip(",")
    want = [row[0] for row in truth.execute(
        f"SELECT count(*) FROM icebase.audience.customers_large_data GROUP BY {group} ORDER BY 1 DESC LIMIT 10").fetchall()]
    assert got == want


def _artifact(tmp_path_factory, name: str) -> Path:
    path = tmp_path_factory.mktemp("artifacts") / name
    target = os.environ.get("LENS_PROXY_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
    return Path(target) / name if target else path
