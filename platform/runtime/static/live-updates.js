/* Portalis live updates: keep an open page current without a reload (runtime/live.py).
 *
 * `#live-updates` carries the updates URL, a cursor, the poll interval and the stamp of each
 * live part (`block-<i>`, `bell`). While the page is visible the script asks the URL with
 * `since=<cursor>`: 304 means nothing changed; 200 brings the new cursor and stamps, and each
 * block whose stamp changed is fetched again as the server renders it (`?_fragment=<i>` of
 * this page) and swapped in — a block the user is typing in waits until they leave it. New
 * rows are marked and announced through the polite `#live-status` region; the bell's count
 * and label are updated in place. Hidden tabs do not poll; errors back off exponentially;
 * 404 (record gone, signed out) stops polling. Without JavaScript a reload shows the news.
 * Loaded as a file (the CSP allows no inline script).
 */
(function () {
  "use strict";
  var config = document.getElementById("live-updates");
  var status = document.getElementById("live-status");
  if (!config || !window.fetch || !window.URL || window.portalisLiveUpdates) {
    return;
  }
  window.portalisLiveUpdates = true;

  var MAX_DELAY_MS = 300000;
  var interval = Math.max(2, parseInt(config.getAttribute("data-interval"), 10) || 10) * 1000;
  var url = config.getAttribute("data-url");
  var cursor = config.getAttribute("data-cursor") || "";
  var parts = {};
  try {
    parts = JSON.parse(config.getAttribute("data-parts") || "{}");
  } catch (e) {
    parts = {};
  }
  var timer = null;
  var failures = 0;
  var stopped = false;
  var inFlight = false;
  var waiting = {};

  function schedule(delay) {
    window.clearTimeout(timer);
    if (!stopped && !document.hidden) {
      timer = window.setTimeout(poll, delay);
    }
  }

  function nextDelay() {
    if (!failures) {
      return interval;
    }
    var backoff = Math.min(MAX_DELAY_MS, interval * Math.pow(2, failures));
    return backoff / 2 + Math.random() * backoff / 2;
  }

  function poll() {
    if (stopped || inFlight || document.hidden) {
      return;
    }
    inFlight = true;
    var target = url + (url.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(cursor);
    window.fetch(target, {
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 304) {
        failures = 0;
        return null;
      }
      if (response.status === 404 || response.status === 401 || response.status === 403) {
        stopped = true;
        return null;
      }
      if (!response.ok) {
        throw new Error("updates: " + response.status);
      }
      failures = 0;
      return response.json();
    }).then(function (data) {
      return data ? apply(data) : null;
    }).catch(function () {
      failures += 1;
    }).then(function () {
      inFlight = false;
      schedule(nextDelay());
    });
  }

  function apply(data) {
    cursor = data.cursor || cursor;
    if (data.interval) {
      interval = Math.max(2, data.interval) * 1000;
    }
    var fresh = data.parts || {};
    var pending = [];
    Object.keys(fresh).forEach(function (key) {
      if (fresh[key] === parts[key]) {
        return;
      }
      if (key === "bell") {
        parts[key] = fresh[key];
        updateBell(data.bell);
      } else if (key.indexOf("block-") === 0) {
        pending.push(refreshBlock(key, fresh[key]));
      }
    });
    return Promise.all(pending).catch(function (error) {
      // a block could not be fetched: forget the cursor, so the next answer lists it again
      cursor = "";
      throw error;
    });
  }

  var spoken = [];
  var speaking = null;

  function announce(text) {
    // what one answer brings is said at once (a second message would cut off the first)
    if (!status || !text) {
      return;
    }
    spoken.push(text);
    if (speaking) {
      return;
    }
    // emptied first, so the same words said twice are announced twice
    status.textContent = "";
    speaking = window.setTimeout(function () {
      status.textContent = spoken.join(" ");
      spoken = [];
      speaking = null;
    }, 150);
  }

  function say(template, section) {
    return (template || "").replace("{section}", section || "");
  }

  function updateBell(bell) {
    var link = document.querySelector(".usermenu a.bell");
    if (!link || !bell) {
      return;
    }
    var before = parseInt(link.getAttribute("data-count") || "-1", 10);
    link.setAttribute("aria-label", bell.label);
    link.setAttribute("title", bell.label);
    link.setAttribute("data-count", String(bell.count));
    link.classList.toggle("has-unread", bell.count > 0);
    var badge = link.querySelector(".bell-badge");
    if (bell.count > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "bell-badge";
        badge.setAttribute("aria-hidden", "true");
        link.appendChild(badge);
      }
      badge.textContent = bell.badge;
      if (bell.count > before) {
        announce(bell.label);
      }
    } else if (badge) {
      badge.parentNode.removeChild(badge);
    }
  }

  function busyIn(block) {
    // the user is working in the block: focus inside, or a field they changed
    if (block.contains(document.activeElement) && document.activeElement !== block) {
      return true;
    }
    var fields = block.querySelectorAll("input, textarea");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "hidden" || field.type === "submit") {
        continue;
      }
      var changed = field.type === "checkbox" || field.type === "radio"
        ? field.checked !== field.defaultChecked
        : field.value !== field.defaultValue;
      if (changed) {
        return true;
      }
    }
    return false;
  }

  function sectionName(block) {
    var label = block.getAttribute("aria-label");
    var heading = block.querySelector("h2");
    return label || (heading ? heading.textContent.trim() : "");
  }

  function rowTexts(block) {
    var seen = {};
    var rows = block.querySelectorAll("tbody tr");
    for (var i = 0; i < rows.length; i++) {
      seen[rows[i].textContent.replace(/\s+/g, " ").trim()] = true;
    }
    return seen;
  }

  function refreshBlock(key, stamp) {
    var index = key.slice("block-".length);
    var address = new URL(window.location.href);
    address.hash = "";
    address.searchParams.set("_fragment", index);
    return window.fetch(address.toString(), {
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
      headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("fragment: " + response.status);
      }
      return response.text();
    }).then(function (html) {
      var holder = document.createElement("template");
      holder.innerHTML = html;
      var replacement = holder.content.getElementById ? holder.content.getElementById(key) : null;
      replacement = replacement || holder.content.querySelector("#" + key);
      var current = document.getElementById(key);
      if (!replacement || !current) {
        return;
      }
      if (busyIn(current)) {
        wait(current, key, stamp);
        return;
      }
      swap(current, replacement);
      parts[key] = stamp;
    });
  }

  function wait(block, key, stamp) {
    // swapped once the user leaves the block (and has not changed a field in it)
    if (waiting[key]) {
      return;
    }
    waiting[key] = true;
    block.addEventListener("focusout", function retry() {
      window.setTimeout(function () {
        if (busyIn(block)) {
          return;
        }
        block.removeEventListener("focusout", retry);
        waiting[key] = false;
        refreshBlock(key, stamp);
      }, 0);
    });
  }

  function swap(current, replacement) {
    var before = rowTexts(current);
    var name = sectionName(current);
    current.parentNode.replaceChild(replacement, current);
    var rows = replacement.querySelectorAll("tbody tr");
    var added = [];
    for (var i = 0; i < rows.length; i++) {
      var text = rows[i].textContent.replace(/\s+/g, " ").trim();
      if (!before[text]) {
        rows[i].classList.add("live-new");
        added.push(text);
      }
    }
    if (added.length) {
      announce(say(config.getAttribute("data-msg-new"), name) + " " + added.join(" · "));
    } else {
      announce(say(config.getAttribute("data-msg-updated"), name));
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      window.clearTimeout(timer);
    } else {
      schedule(0);
    }
  });
  var bell = document.querySelector(".usermenu a.bell");
  if (bell && parts.bell !== undefined) {
    bell.setAttribute("data-count", String(parts.bell));
  }
  schedule(interval);
}());
