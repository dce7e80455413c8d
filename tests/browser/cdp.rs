//! Just enough of the Chrome DevTools Protocol to drive a page and see every request it makes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Headless Chromium, one page, and every event it sent.
pub struct Browser {
    child: Child,
    profile: PathBuf,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// Every event, in order.
    pub events: Vec<Value>,
}

const WAIT: Duration = Duration::from_secs(30);

impl Browser {
    /// Starts `chromium` (a path) with nothing leaving the machine: every host but
    /// 127.0.0.1 fails to resolve, and background networking is off. `reduced_motion` asks
    /// pages for `prefers-reduced-motion`.
    pub async fn launch(chromium: &Path, profile: PathBuf) -> Browser {
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-sync",
                "--disable-features=Translate,OptimizationHints,MediaRouter",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
                "--lang=en-US",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let endpoint = loop {
            let line = lines
                .next()
                .expect("chromium printed its DevTools address")
                .unwrap();
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                break url.trim().to_owned();
            }
        };
        // Chromium keeps writing to stderr; it must not block on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let (ws, _) = tokio_tungstenite::connect_async(endpoint.as_str())
            .await
            .expect("DevTools connection");
        let mut browser = Browser {
            child,
            profile,
            ws,
            session: String::new(),
            next_id: 0,
            events: Vec::new(),
        };
        let target = browser
            .browser_call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = browser
            .browser_call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        for domain in ["Page.enable", "Network.enable", "Runtime.enable"] {
            browser.call(domain, json!({})).await;
        }
        browser
    }

    async fn send(&mut self, method: &str, params: Value, session: bool) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if session {
            message["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
        loop {
            let message = self.read().await;
            if message["id"] == json!(id) {
                if let Some(error) = message.get("error") {
                    panic!("{method}: {error}");
                }
                return message["result"].clone();
            }
        }
    }

    /// The next message; events are kept.
    async fn read(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("DevTools answered in time")
                .expect("DevTools connection open")
                .unwrap();
            let Message::Text(text) = next else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).unwrap();
            if value.get("method").is_some() {
                self.events.push(value.clone());
            }
            return value;
        }
    }

    async fn browser_call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, false).await
    }

    /// A command to the page.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, true).await
    }

    /// Waits for the event `method` after the first `from` events.
    pub async fn wait_for(&mut self, method: &str, from: usize) -> Value {
        loop {
            if let Some(found) = self.events[from.min(self.events.len())..]
                .iter()
                .find(|e| e["method"] == json!(method))
            {
                return found.clone();
            }
            self.read().await;
        }
    }

    /// Runs `expression` in the page and returns its value (promises awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Loads `url` and waits for its load event.
    pub async fn open(&mut self, url: &str) {
        let from = self.events.len();
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_for("Page.loadEventFired", from).await;
    }

    /// Runs `action` (a click or a key press that leads to another page) and waits for the
    /// page it leads to.
    pub async fn wait_for_load(&mut self, from: usize) {
        self.wait_for("Page.loadEventFired", from).await;
        // The page's own scripts and resources are requested by now; let the event stream
        // catch up with them.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.call("Runtime.evaluate", json!({"expression": "1"}))
            .await;
    }

    /// A real mouse click in the middle of the element `selector` names (scrolled into view).
    pub async fn click(&mut self, selector: &str) {
        let center = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({selector:?}); if (!e) return null; \
                 e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
                 return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
            ))
            .await;
        let (x, y) = match center.as_array() {
            Some(xy) => (xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap()),
            None => panic!("nothing to click at {selector}"),
        };
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )
            .await;
        }
    }

    /// A key press: `Tab`, `Enter` or `Space`, with Shift when `shift`.
    pub async fn press(&mut self, key: &str, shift: bool) {
        let (code, text, vk) = match key {
            "Tab" => ("Tab", "", 9),
            "Enter" => ("Enter", "\r", 13),
            "Space" => ("Space", " ", 32),
            other => panic!("no key {other}"),
        };
        let modifiers = if shift { 8 } else { 0 };
        let key_name = if key == "Space" { " " } else { key };
        let mut down = json!({"type": "keyDown", "key": key_name, "code": code,
            "windowsVirtualKeyCode": vk, "modifiers": modifiers});
        if !text.is_empty() {
            down["text"] = json!(text);
        }
        self.call("Input.dispatchKeyEvent", down).await;
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key_name, "code": code,
                "windowsVirtualKeyCode": vk, "modifiers": modifiers}),
        )
        .await;
    }

    /// Every URL the page asked for after the first `from` events.
    pub fn requests_since(&self, from: usize) -> Vec<String> {
        self.events[from.min(self.events.len())..]
            .iter()
            .filter(|e| e["method"] == json!("Network.requestWillBeSent"))
            .filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_owned))
            .collect()
    }

    /// The names of the cookies the browser holds for `url`.
    pub async fn cookie_names(&mut self, url: &str) -> Vec<String> {
        let result = self
            .call("Network.getCookies", json!({"urls": [url]}))
            .await;
        result["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// Forgets every cookie: a new visitor in the same browser.
    pub async fn clear_cookies(&mut self) {
        self.call("Network.clearBrowserCookies", json!({})).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
