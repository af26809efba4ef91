/* The course's search excerpts (vit_tutorial/site/search.py writes search-texts.js).
 *
 * Sphinx lists the results (its index, ranked by search-scorer.js); this script gives each
 * one its readable title and an excerpt from the page's own text — prose first, then code,
 * then printed output; within a result for a section, that section's text — with the words
 * of the query marked where a whole word matches (the same stems the index uses: "tokens"
 * for "token", never "classic" for "class"). It reads no page over the network, so it
 * works from disk as well as from a server.
 */
"use strict";

const CourseSearch = {
  WIDTH: 240, // characters in an excerpt
  KINDS: ["p", "c", "o"], // prose, code, output: the order excerpts prefer

  stems: (text) => {
    const stemmer = new Stemmer();
    return text.toLowerCase().split(/[^\p{Letter}\p{Number}_]+/u)
      .filter((word) => word && !stopwords.has(word) && !/^\d+$/.test(word))
      .map((word) => stemmer.stemWord(word));
  },

  // Where each word of `text` is, with its stem: [start, end, stem].
  words: (text) => {
    const stemmer = new Stemmer();
    return [...text.matchAll(/[\p{Letter}\p{Number}_]+/gu)].map((m) =>
      [m.index, m.index + m[0].length, stemmer.stemWord(m[0].toLowerCase())]);
  },

  // The page of a result link, and the section its anchor names ("" for the page).
  target: (link) => {
    const root = new URL(document.documentElement.dataset.content_root || "./",
                         window.location.href);
    const url = new URL(link.getAttribute("href"), window.location.href);
    let page = decodeURIComponent(url.pathname.slice(root.pathname.length));
    page = page.replace(/\.html$/, "").replace(/\/$/, "/index");
    return [page, decodeURIComponent(url.hash.slice(1))];
  },

  inSection: (page, block, section) => {
    for (let at = block; at; at = (page.sections[at] || [])[1]) if (at === section) return true;
    return false;
  },

  // The block to quote: the one of the best kind that holds the most words of the query.
  bestBlock: (page, section, query) => {
    const scope = page.blocks.filter((b) => !section || CourseSearch.inSection(page, b[0],
                                                                              section));
    for (const kind of CourseSearch.KINDS) {
      let best = null, bestCount = 0;
      for (const block of scope.filter((b) => b[1] === kind)) {
        const found = new Set(CourseSearch.words(block[2]).map((w) => w[2])
                                .filter((stem) => query.has(stem)));
        if (found.size > bestCount) [best, bestCount] = [block, found.size];
      }
      if (best) return best;
    }
    return scope.find((b) => b[1] === "p") || null;
  },

  // An excerpt of `text` around the first match, as a paragraph with the matches marked.
  excerpt: (text, query) => {
    const words = CourseSearch.words(text);
    const first = words.find((w) => query.has(w[2]));
    let start = first ? Math.max(0, first[0] - CourseSearch.WIDTH / 2) : 0;
    let end = Math.min(text.length, start + CourseSearch.WIDTH);
    start = Math.max(0, Math.min(start, end - CourseSearch.WIDTH));
    const inside = words.filter((w) => w[0] >= start && w[1] <= end);
    if (start > 0 && inside.length) start = inside[0][0]; // whole words at both ends
    if (end < text.length && inside.length) end = inside[inside.length - 1][1];
    const paragraph = document.createElement("p");
    paragraph.classList.add("context");
    let at = start;
    const plain = (s) => { // "nohighlight": Sphinx's own marker leaves this text alone
      const span = paragraph.appendChild(document.createElement("span"));
      span.classList.add("nohighlight");
      span.textContent = s;
    };
    plain((start > 0 ? "…" : ""));
    for (const [wordStart, wordEnd, stem] of inside) {
      if (!query.has(stem)) continue;
      plain(text.slice(at, wordStart).replace(/\s+/g, " "));
      const mark = paragraph.appendChild(document.createElement("span"));
      mark.classList.add("highlighted");
      mark.textContent = text.slice(wordStart, wordEnd);
      at = wordEnd;
    }
    plain(text.slice(at, end).replace(/\s+/g, " ") + (end < text.length ? "…" : ""));
    return paragraph;
  },

  // One result: its readable title, and its excerpt.
  show: (item) => {
    if (item.dataset.courseExcerpt) return;
    item.dataset.courseExcerpt = "1";
    const link = item.querySelector("a");
    const texts = window.VIT_SEARCH_TEXTS || {};
    if (!link) return;
    const [name, section] = CourseSearch.target(link);
    const page = texts[name];
    if (!page) return;
    const heading = section && page.sections[section] ? page.sections[section][0] : "";
    link.textContent = heading ? `${page.title} › ${heading}` : page.title;
    const query = new Set(CourseSearch.stems(
      new URLSearchParams(window.location.search).get("q") || ""));
    const block = CourseSearch.bestBlock(page, section, query);
    if (block) item.appendChild(CourseSearch.excerpt(block[2], query));
  },

  start: () => {
    const results = document.getElementById("search-results");
    if (!results) return;
    const showAll = () => results.querySelectorAll("ul.search > li").forEach(CourseSearch.show);
    showAll();
    new MutationObserver(showAll).observe(results, { childList: true, subtree: true });
  },
};

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", CourseSearch.start);
} else {
  CourseSearch.start();
}
