#!/usr/bin/env python3
"""Writes corpus/articles.ndjson: five illustrative news articles for the demo of `stance extract`.

Nothing here is a real quote or a real report: the articles were written for the stance
project, in the register of wire copy, to show quote extraction and attribution in English,
Russian and Ukrainian. Regenerate with `python3 corpus/make_articles.py`; `--check` fails
when the committed file differs from what this script writes.
"""

import json
import pathlib
import sys

ARTICLES = [
    {
        "id": "demo-news-1",
        "date": "2025-08-07",
        "source": "Illustrative Wire",
        "url": "https://example.org/news/1",
        "title": "Kremlin signals openness to talks",
        "lang": "en",
        "text": (
            "MOSCOW, Aug 7 – The Kremlin said on Thursday it remained open to a meeting of the two presidents.\n"
            "\"Russia is always open to peace negotiations,\" Kremlin spokesman Dmitry Peskov told reporters. "
            "\"But any talks must take into account the realities on the ground.\"\n"
            "Asked about the so-called \"peace formula\", he said: \"That document is not a basis for anything.\"\n"
            "The White House said in a statement that the envoy's visit had been \"highly constructive\"."
        ),
    },
    {
        "id": "demo-news-2",
        "date": "2025-08-08",
        "source": "Illustrative Daily",
        "url": "https://example.org/news/2",
        "title": "Washington welcomes contacts",
        "lang": "en",
        "text": (
            "WASHINGTON – \u201cWe welcome every step that brings the parties to the table,\u201d "
            "the White House said, \u201cand we expect Moscow to match its words with deeds.\u201d\n"
            "Officials declined to give a date. \u201cThe deadline stands,\u201d one official said."
        ),
    },
    {
        "id": "demo-news-3",
        "date": "2025-08-08",
        "source": "Иллюстративное агентство",
        "url": "https://example.org/news/3",
        "title": "Песков о переговорах",
        "lang": "ru",
        "text": (
            "Пресс-секретарь президента России Дмитрий Песков заявил журналистам, что Москва ждёт сигналов от Вашингтона.\n"
            "«Россия всегда открыта к мирным переговорам, и мы это неоднократно подтверждали», — сказал Песков.\n"
            "По его словам, «говорить о сроках встречи пока преждевременно»."
        ),
    },
    {
        "id": "demo-news-4",
        "date": "2025-08-09",
        "source": "Ілюстративне агентство",
        "url": "https://example.org/news/4",
        "title": "Зеленський про можливу зустріч",
        "lang": "uk",
        "text": (
            "Президент України Володимир Зеленський прокоментував повідомлення про можливу зустріч лідерів США та Росії.\n"
            "«Жодні рішення щодо України не можуть ухвалюватися без України», — наголосив Зеленський.\n"
            "За його словами, «справедливий мир можливий лише за участі всіх сторін»."
        ),
    },
    {
        "id": "demo-news-5",
        "date": "2025-08-10",
        "source": "Illustrative Wire (syndicated)",
        "url": "https://example.org/news/5",
        "title": "Kremlin: open to talks",
        "lang": "en",
        "text": (
            "Moscow repeated its position over the weekend.\n"
            "\u201cRussia is always open to peace negotiations,\u201d Peskov said."
        ),
    },
]


def main() -> int:
    out = pathlib.Path(__file__).with_name("articles.ndjson")
    text = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES)
    if "--check" in sys.argv:
        if out.read_text(encoding="utf-8") != text:
            print(f"{out} differs from {__file__}: run it to regenerate", file=sys.stderr)
            return 1
        return 0
    out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
