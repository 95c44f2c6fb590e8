#!/usr/bin/python3
"""The web console in a real headless browser (Debian's chromium, driven by
python3-selenium through chromium-driver), against three real daemons.

Run by tests/http_api_test.cc:
  console_browser.py A_HTTP C_HTTP C_PID SCREENSHOT_DIR

Every wait is a condition with a deadline (WebDriverWait); the page is
never reloaded after it is first opened, so what appears, appears live.
"""
import json
import os
import signal
import sys
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def put(port, path, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body.encode(), method="PUT")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def browser(width, height):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=%d,%d" % (width, height)):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def text_of(driver, css):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def main(a_port, c_port, c_pid, shots):
    os.makedirs(shots, exist_ok=True)
    ui = "http://127.0.0.1:%d/ui/" % a_port
    d = browser(1280, 900)
    wait = WebDriverWait(d, 30, poll_frequency=0.1)
    try:
        # Members: all three alive.
        d.get(ui + "#/members")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-member] .badge.alive")) == 3)
        assert "3 of 3 alive" in d.find_element(By.TAG_NAME, "h1").text
        assert "updated" in d.find_element(By.ID, "updated").text
        d.save_screenshot(os.path.join(shots, "members-desktop.png"))

        # A service published on another node (C) appears without a reload.
        d.get(ui + "#/services")
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text.startswith("Services"))
        put(c_port, "/v1/agent/service/register", json.dumps({"Name": "shop", "ID": "shop-c", "Port": 8443,
                                                               "Tags": ["edge"]}))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-instance="shop/shop-c"]'))
        row = d.find_element(By.CSS_SELECTOR, 'tr[data-instance="shop/shop-c"]').text
        assert "n2" in row and "8443" in row and "passing" in row, row
        d.save_screenshot(os.path.join(shots, "services-desktop.png"))

        # A file's history: revisions with authors, and a diff.
        put(a_port, "/v1/kv/etc/app.conf", "listen = 80\nworkers = 4\n")
        put(a_port, "/v1/kv/etc/app.conf", "listen = 8080\nworkers = 4\n")
        d.get(ui + "#/files/etc/app.conf")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-revision]")) == 2)
        revisions = text_of(d, "tr[data-revision]")
        assert all("write" in r and "/" in r for r in revisions), revisions
        assert "listen = 8080" in d.find_element(By.CSS_SELECTOR, "pre").text
        d.find_element(By.XPATH, "//button[contains(., 'Compare the last two writes')]").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "pre.diff .add"))
        assert text_of(d, "pre.diff .del") == ["- listen = 80"], text_of(d, "pre.diff .del")
        assert text_of(d, "pre.diff .add") == ["+ listen = 8080"], text_of(d, "pre.diff .add")
        d.save_screenshot(os.path.join(shots, "history-desktop.png"))

        # A name holding markup is shown as text, never run.
        # (No '/' in it: that would make it a path.)
        evil = "<script>window.pwned=1<\\script><img src=x onerror=window.pwned=2>"
        put(a_port, "/v1/kv/etc/" + urllib.parse.quote(evil, safe=""), "<script>window.pwned=3</script>")
        d.get(ui + "#/files/etc")
        wait.until(lambda d: evil in text_of(d, "main td a"))
        d.find_element(By.LINK_TEXT, evil).click()
        wait.until(lambda d: "window.pwned=3" in "".join(text_of(d, "main pre")))
        assert d.execute_script("return window.pwned === undefined"), "markup from the node ran"
        assert not d.find_elements(By.CSS_SELECTOR, "main script, main img")
        try:
            d.switch_to.alert
            raise AssertionError("an alert opened")
        except NoAlertPresentException:
            pass

        # Phone width: the same pages, readable.
        d.set_window_size(390, 844)
        d.get(ui + "#/services")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-instance="shop/shop-c"]'))
        d.save_screenshot(os.path.join(shots, "services-phone.png"))
        d.get(ui + "#/members")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-member] .badge.alive")) == 3)

        # kill -9 of node C: the open page shows it failed, without a reload.
        killed = time.monotonic()
        os.kill(c_pid, signal.SIGKILL)
        WebDriverWait(d, 45, poll_frequency=0.2).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-member="n2"] .badge.failed'))
        print("the console showed n2 failed %.1f s after kill -9" % (time.monotonic() - killed))
        d.save_screenshot(os.path.join(shots, "members-phone-failed.png"))
        print("console: members, live services, history with a diff, markup as text; screenshots in " + shots)
    finally:
        d.quit()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
