/* The course's search ranking: Sphinx's Scorer (html_search_scorer), with titles first.
 *
 * Sphinx scores a page found by its text 5, by a word of any of its titles 15, and a title
 * holding the whole query a little less; so a lesson's own title could rank below pages that
 * merely mention its words in a heading. Here every result first gets Sphinx's score, then:
 *   +100 (and up to +50 more, the closer the title is to the query) when the page's own
 *        title holds every word of the query: "class token" puts lesson 03 first;
 *   +50  when a section's title holds every word: that section, right after.
 * Words are compared as Sphinx indexes them: lower case, stemmed, stop words left out.
 */
var Scorer = {
  objNameMatch: 11, objPartialMatch: 6, objPrio: { 0: 15, 1: 5, 2: -5 }, objPrioDefault: 0,
  title: 15, partialTitle: 7, term: 5, partialTerm: 2,

  _stems: (text) => {
    const stemmer = new Stemmer();
    return text.toLowerCase().split(/[^\p{Letter}\p{Number}_]+/u)
      .filter((word) => word && !stopwords.has(word) && !/^\d+$/.test(word))
      .map((word) => stemmer.stemWord(word));
  },

  _query: () => new URLSearchParams(window.location.search).get("q") || "",

  score: (result) => {
    const [, title, , , score] = result;
    const query = Scorer._stems(Scorer._query());
    if (!query.length || !title) return score;
    const [page, section] = title.split(" > ");
    const holds = (text) => { const words = new Set(Scorer._stems(text));
                              return query.every((word) => words.has(word)); };
    if (section === undefined && holds(page)) {
      const own = page.replace(/^\d+\s*·\s*/, "");  // "03 · The class token" -> its words
      return score + 100 + Math.round(50 * query.join("").length
                                      / Math.max(own.replace(/\W/g, "").length, 1));
    }
    if (section !== undefined && holds(section)) return score + 50;
    return score;
  },
};
