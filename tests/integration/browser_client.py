#!/usr/bin/python3
"""browser_client.py - the web client page (web/index.html) in a real
browser, for test_ws_browser.c: Debian's headless Chromium driven by
python3-selenium through /usr/bin/chromedriver, beside a plain TCP IRC
client in the same channel.

  browser_client.py WSPORT TCPPORT

WSPORT is a `transport = websocket` chat listener, whose GET / serves the
page; TCPPORT a chat listener of the same network. Steps, each bounded:

  1. The TCP client registers as tcpbob. The page loads from
     http://127.0.0.1:WSPORT/ with no error; the browser asks for the nick
     tcpbob: the 433 shows in #log, and it picks webalice instead.
  2. The page registers (CAP LS/REQ/END), joins #muxd; #members lists
     webalice (NAMES), then tcpbob when it joins (JOIN).
  3. The browser sends a line (#input, #send): the TCP client gets it as
     an exact PRIVMSG; /me arrives as a CTCP ACTION. The TCP client's
     line, with HTML in it, shows in #log as text (no element made of
     it), once, with the server's time (<time class=server datetime=...>).
  4. tcpbob becomes tcpcarol (NICK) and parts (PART): #members follows.
  5. /nick in the input box renames the browser's user; #part leaves.
  6. Under 600 px the member list stacks under the log; beside it above.
  7. The browser's console holds no error. driver.quit() always runs.
Exit 0 on success; what went wrong on stderr otherwise.
"""
import re
import signal
import socket
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import (StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

STEP = 10
HOST = "127.0.0.1"


class Fail(Exception):
    pass


class Irc:
    """A blocking plain IRC client, CR LF lines."""

    def __init__(self, port, nick):
        self.nick = nick
        self.sock = socket.create_connection((HOST, port), timeout=STEP)
        self.buf = b""
        self.recent = []

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def expect(self, pred, what, timeout=STEP):
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                raw, self.buf = self.buf.split(b"\n", 1)
                line = raw.rstrip(b"\r").decode("utf-8", "replace")
                self.recent = (self.recent + [line])[-12:]
                if pred(line):
                    return line
            left = end - time.monotonic()
            if left <= 0:
                raise Fail(f"{self.nick}: no {what} within {timeout} s; last lines:\n  "
                           + "\n  ".join(self.recent))
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not b:
                raise Fail(f"{self.nick}: closed while waiting for {what}")
            self.buf += b

    def expect_line(self, want):
        return self.expect(lambda l: l == want, repr(want))

    def expect_from(self, nick, rest):
        """nick's line (any user name: USER went out with the first nick)."""
        pat = re.compile(r"^:" + re.escape(nick) + r"!\S+@127\.0\.0\.1 " + re.escape(rest) + "$")
        return self.expect(lambda l: pat.match(l) is not None, f":{nick}!...@127.0.0.1 {rest!r}")

    def register(self):
        self.send(f"NICK {self.nick}")
        self.send(f"USER {self.nick} 0 * :TCP {self.nick}")
        self.expect(lambda l: re.match(r"^:\S+ (376|422) ", l) is not None, "376/422")

    def close(self):
        self.sock.close()


def browser():
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1200,800"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def wait(driver, cond, what, timeout=STEP):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=(StaleElementReferenceException,)).until(
                                 lambda d: cond(d))
    except TimeoutException:
        log = driver.find_element(By.ID, "log").text[-1500:]
        members = driver.find_element(By.ID, "members").text
        raise Fail(f"browser: no {what} within {timeout} s\n#log ends:\n{log}\n"
                   f"#members: {members!r}")


# Read in one script each: the page rebuilds #members on every change, so
# element handles found one by one could go stale in between.
def members(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#members li')].map((li) => li.dataset.nick)")


def log_lines(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#log > div')].map((d) => d.textContent)")


def say(driver, text):
    box = driver.find_element(By.ID, "input")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def run(driver, ws_port, tcp):
    driver.get(f"http://{HOST}:{ws_port}/")
    if driver.title != "muxd chat":
        raise Fail(f"page title {driver.title!r}")
    chan = driver.find_element(By.ID, "channel")
    if chan.get_attribute("value") != "#muxd":
        raise Fail(f"default channel {chan.get_attribute('value')!r}")

    # A nick in use: 433 shows, another one is picked.
    nick = driver.find_element(By.ID, "nick")
    nick.send_keys("tcpbob")
    driver.find_element(By.ID, "connect").click()
    wait(driver, lambda d: any("in use" in l for l in log_lines(d)), "433 message in #log")
    wait(driver, lambda d: d.find_element(By.ID, "connect").is_enabled(), "#connect enabled")
    nick.clear()
    nick.send_keys("webalice")
    driver.find_element(By.ID, "connect").click()

    wait(driver, lambda d: "webalice" in members(d), "webalice in #members (NAMES)")
    tcp.send("JOIN #muxd")
    tcp.expect(lambda l: " 366 " in l, "366")
    wait(driver, lambda d: "tcpbob" in members(d), "tcpbob in #members (JOIN)")

    say(driver, "hello from the browser")
    tcp.expect_from("webalice", "PRIVMSG #muxd :hello from the browser")
    say(driver, "/me waves")
    tcp.expect_from("webalice", "PRIVMSG #muxd :\x01ACTION waves\x01")

    text = "hello from tcp <b>not bold</b> & <script>alert(1)</script>"
    tcp.send(f"PRIVMSG #muxd :{text}")
    line = wait(driver, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, "#log > div")
                                        if text in e.text), None), "tcpbob's line in #log")
    if "<tcpbob>" not in line.text:
        raise Fail(f"tcpbob's line shows as {line.text!r}")
    stamp = line.find_elements(By.CSS_SELECTOR, "time.server")
    if not stamp or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$",
                                 stamp[0].get_attribute("datetime") or ""):
        raise Fail(f"tcpbob's line has no server-time stamp: {line.get_attribute('outerHTML')}")
    if not re.match(r"^\d\d:\d\d:\d\d$", stamp[0].text):
        raise Fail(f"the stamp shows {stamp[0].text!r}")
    if driver.find_elements(By.CSS_SELECTOR, "#log b, #log script"):
        raise Fail("text from the network became HTML elements in #log")
    # echo-message: the browser's own line once (the server's copy).
    own = [l for l in log_lines(driver) if l.endswith("hello from the browser")]
    if len(own) != 1:
        raise Fail(f"the browser's own line shows {len(own)} times: {own}")

    tcp.send("NICK tcpcarol")
    wait(driver, lambda d: "tcpcarol" in members(d) and "tcpbob" not in members(d),
         "tcpbob renamed tcpcarol in #members")
    tcp.send("PART #muxd :later")
    wait(driver, lambda d: members(d) == ["webalice"], "tcpcarol gone from #members (PART)")

    say(driver, "/nick webann")
    wait(driver, lambda d: members(d) == ["webann"], "webann in #members (/nick)")
    driver.find_element(By.ID, "part").click()
    wait(driver, lambda d: members(d) == [] and any("webann left #muxd" in l
                                                    for l in log_lines(d)), "#part")

    # Layout: beside the log when wide, under it on a phone.
    log, mem = driver.find_element(By.ID, "log"), driver.find_element(By.ID, "members")
    if not mem.rect["x"] > log.rect["x"] + log.rect["width"] / 2:
        raise Fail(f"wide: #members at {mem.rect}, #log at {log.rect}")
    driver.set_window_size(390, 844)
    wait(driver, lambda d: mem.rect["y"] > log.rect["y"] + log.rect["height"] / 2,
         "#members under #log at 390 px")

    # Chromium may ask for /favicon.ico on its own (the page names none:
    # the server's CSP allows no image): its 404 is not the page's error.
    errors = [e for e in driver.get_log("browser")
              if e.get("level") == "SEVERE" and "/favicon.ico" not in e.get("message", "")]
    if errors:
        raise Fail(f"console errors: {errors}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ws_port, tcp_port = int(sys.argv[1]), int(sys.argv[2])
    # Stopped by the test (SIGTERM): unwind, so driver.quit() still ends
    # chromedriver and Chromium.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("browser_client.py: stopped (SIGTERM)"))
    tcp = driver = None
    t0 = time.monotonic()
    try:
        tcp = Irc(tcp_port, "tcpbob")
        tcp.register()
        driver = browser()
        t1 = time.monotonic()
        run(driver, ws_port, tcp)
        print(f"browser: ok (Chromium up in {t1 - t0:.1f} s, the steps {time.monotonic() - t1:.1f} s)")
    except Fail as e:
        sys.exit(f"browser_client.py: {e}")
    except (OSError, WebDriverException) as e:
        sys.exit(f"browser_client.py: {type(e).__name__}: {e}")
    finally:
        if driver is not None:
            driver.quit()
        if tcp is not None:
            tcp.close()


if __name__ == "__main__":
    main()
