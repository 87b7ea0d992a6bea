"""Demo data: `flask --app webapi seed-demo` fills an empty database with Telegram users, console
accounts, dialogs and messages that look like real use, the same rows for the same arguments.

Everything comes from one `random.Random(seed)`: who the users are and how much each writes
(a few heavy users, many light ones; some join late, some stop), when they write (quiet nights,
busy late mornings and evenings, quieter weekends), what they ask and what the answers cost, and
how answers end (as the conversation service stores them: answered, failed, cancelled,
interrupted). Rows are built in memory, ordered by time so that ids follow time as they would,
then written in one transaction: bulk inserts (COPY on PostgreSQL) with the statistics triggers
suspended and rebuilt once at the end (rollups.bulk_load), and the big tables' secondary
indexes (on PostgreSQL their foreign keys too) dropped and created again afterwards.

Two things are not from the seed: the console accounts' password hashes (random, and no valid
hash, so nobody can sign in as them) and, when --until is today, the present moment, which
no message may pass.
"""

# ruff: noqa: RUF001 (the Russian demo texts are Cyrillic on purpose)

from __future__ import annotations

import itertools
import math
import random
import secrets
import sys
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import NormalDist
from typing import Any, TypeVar

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from webapi.database import write_session
from webapi.domain.outcomes import AnswerErrorCode
from webapi.domain.roles import RoleCatalog
from webapi.models import (
    Account,
    Author,
    Channel,
    Dialog,
    Message,
    Mode,
    Status,
    User,
    utcnow,
)
from webapi.services import services
from webapi.stats.rollups import bulk_load

# Plain strings, not the enumerations: the drivers take those on their slow path.
QUESTION, ANSWER = Author.USER.value, Author.ASSISTANT.value
OK, ERROR = Status.OK.value, Status.ERROR.value
TELEGRAM, WEB = Channel.TELEGRAM.value, Channel.WEB.value
ASSISTANT, INSIGHTS = Mode.ASSISTANT.value, Mode.INSIGHTS.value
INTERRUPTED, CANCELLED = AnswerErrorCode.INTERRUPTED.value, AnswerErrorCode.CANCELLED.value
TIMEOUT = AnswerErrorCode.LLM_TIMEOUT.value
T = TypeVar("T")

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# Telegram ids of the demo users and chats: far from the small ids tests use.
TELEGRAM_ID_BASE = 7_000_000_000
GROUP_CHAT_BASE = -1_007_000_000_000
DEMO_ACCOUNTS = (("demo-analyst", 0.6, 0.7), ("demo-owner", 0.4, 0.35))  # name, share, insights
WEB_SHARE = 0.05  # of the messages: the console's
GROUP_MEMBER_SHARE, GROUP_DIALOG_SHARE = 0.2, 0.25  # members write a quarter of dialogs there
ZIPF_EXPONENT = 0.75  # the top 1 % of 10,000 users write about a quarter of the messages
MEAN_QUESTIONS, MAX_QUESTIONS = 4, 30
MAX_QUESTION_CHARS, MAX_ANSWER_CHARS = 300, 1_500
VARIANTS = 2_048  # questions and answers composed per pool of phrases
NORMAL_STEPS = 8_192  # quantiles of the normal distribution drawn from (see _NORMAL)
NO_FIGURES = (None, None, None, None, None)  # a question row's tokens, timings and sql
LLM_TIMEOUT_MS = 60_000  # LLM_TIMEOUT_S's default: what a timed-out answer took
MODELS = ("openai/gpt-4o-mini", "openai/gpt-4.1-mini")  # the second from 2/3 of the period on
INSIGHTS_PROMPT_TOKENS = 1_400  # the schema and the rules an Insights question is sent with
# Activity by hour of the day (UTC) and by weekday (Monday first).
HOURLY = (
    0.22, 0.15, 0.11, 0.09, 0.09, 0.12, 0.22, 0.40, 0.62, 0.82, 0.96, 1.00,
    0.92, 0.86, 0.84, 0.85, 0.86, 0.90, 0.98, 1.05, 1.08, 0.98, 0.74, 0.42,
)  # fmt: skip
WEEKLY = (1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.6)
# How a question ends, per channel: (interrupted, cancelled, failed); the rest is answered.
OUTCOME_ODDS = {TELEGRAM: (0.003, 0.005, 0.025), WEB: (0.003, 0.08, 0.025)}
FAILURES = (
    (TIMEOUT, 0.3),
    (AnswerErrorCode.LLM_UNAVAILABLE.value, 0.3),
    (AnswerErrorCode.LLM_RATE_LIMITED.value, 0.25),
    (AnswerErrorCode.LLM_BAD_RESPONSE.value, 0.15),
)
# What a failed call took (median ms, spread) before it gave up; timeouts take the budget.
FAILURE_LATENCY = {
    AnswerErrorCode.LLM_UNAVAILABLE.value: (1_500.0, 0.6),
    AnswerErrorCode.LLM_RATE_LIMITED.value: (800.0, 0.5),
    AnswerErrorCode.LLM_BAD_RESPONSE.value: (2_500.0, 0.5),
    CANCELLED: (3_000.0, 0.8),
}
LANGUAGES = (
    ("en", 0.38), ("ru", 0.34), ("de", 0.07), ("es", 0.06),
    ("uk", 0.04), ("fr", 0.04), ("pt-br", 0.03), (None, 0.04),
)  # fmt: skip
CYRILLIC_LANGUAGES = {"ru", "uk"}
CHARS_PER_TOKEN = {"en": 4.0, "ru": 3.0}

# (offset from the dialog's first question in ms, dialog index, author, content, length, status,
#  error code, prompt tokens, completion tokens, ttft ms, latency ms, sql); the model is the
#  one in use at the row's time.
MessagePlan = tuple[
    int, int, str, str, int, str, str | None, int | None, int | None, int | None, int | None,
    str | None,
]  # fmt: skip


# --- texts ----------------------------------------------------------------------------------------


def _expand(templates: Sequence[str], **slots: Sequence[str]) -> tuple[str, ...]:
    """Every filling of the templates' {slots} with the given words."""
    filled: list[str] = []
    for template in templates:
        names = [name for name in slots if "{" + name + "}" in template]
        for words in itertools.product(*(slots[name] for name in names)):
            filled.append(template.format(**dict(zip(names, words, strict=True))))
    return tuple(filled)


@dataclass(frozen=True)
class Phrases:
    """What one kind of dialog sounds like in one language."""

    questions: tuple[str, ...]
    details: tuple[str, ...]  # sentences a question may go on with
    openers: tuple[str, ...]  # an answer's first sentence
    sentences: tuple[str, ...]  # the rest of an answer
    sql: tuple[str, ...] = ()


_TECH = ("Python", "PostgreSQL", "Docker", "Kubernetes", "Redis", "nginx", "Go", "Kafka", "SQLite")
_EN_DETAILS_TECH = (
    "We run it on two small VMs.",
    "The main table has about 40 million rows.",
    "It worked fine until last week.",
    "Traffic peaks at around 300 requests per second.",
    "We are three developers, so simple beats clever.",
    "We deploy with Docker Compose for now.",
    "Restarting it helped, but only for an hour.",
    "Latency matters more than throughput here.",
)
_RU_DETAILS_TECH = (
    "Крутится на двух небольших виртуалках.",
    "В основной таблице около 40 млн строк.",
    "До прошлой недели всё работало.",
    "Пик нагрузки примерно 300 запросов в секунду.",
    "Нас трое разработчиков, так что чем проще, тем лучше.",
    "Перезапуск помогает, но ненадолго.",
)
_EN_PERIODS = ("yesterday", "last week", "this month", "over the last 30 days", "on weekends")
_RU_PERIODS = ("вчера", "на прошлой неделе", "в этом месяце", "за последние 30 дней")
_NUMBERS = ("37", "148", "1,204", "3,910", "12,486")
_PERCENTS = ("4%", "12%", "18%", "27%")

INSIGHTS_PHRASES = "insights"  # not a role: what Insights dialogs sound like
PHRASES: dict[tuple[str, str], Phrases] = {
    ("consultant", "en"): Phrases(
        questions=_expand(
            (
                "How do I {task} in {tech}?",
                "What's the cleanest way to {task} with {tech}?",
                "{tech} {symptom} after the last deploy. Where should I look first?",
                "Can you explain how {concept} works in {tech}?",
                "Is it worth it to {task} with {tech}, or is there something simpler?",
            ),
            tech=_TECH,
            task=(
                "set up connection pooling",
                "run migrations without downtime",
                "cache expensive queries",
                "profile memory usage",
                "retry failed jobs safely",
                "paginate a large table",
                "rotate secrets",
                "limit concurrency",
            ),
            symptom=(
                "got noticeably slower",
                "keeps running out of memory",
                "times out under load",
                "restarts every few minutes",
            ),
            concept=("transaction isolation", "backpressure", "graceful shutdown", "health checks"),
        ),
        details=_EN_DETAILS_TECH,
        openers=(
            "Short answer: it depends on your load, but here is what I would do.",
            "Good question, and a common one.",
            "Here is a practical approach that works for most teams.",
            "There are usually two causes for this.",
        ),
        sentences=(
            "Measure before you change anything: turn on slow query logging and look at the "
            "top five offenders.",
            "Connection pooling usually gives the biggest win for the least effort.",
            "Keep the change small and reversible, and roll it out behind a flag.",
            "Add an index that matches the filter and the sort order, then check the plan with "
            "EXPLAIN ANALYZE.",
            "Set explicit timeouts on every network call; the defaults are often infinite.",
            "If the data fits in memory, a simple cache with a short TTL is enough.",
            "Make the job idempotent first; then retries become safe.",
            "Run the migration in steps: add the new column, backfill it, then switch reads.",
            "Watch the p95 latency rather than the average, which hides the slow tail.",
            "For a team your size I would keep one database and skip the message broker.",
            "Check the container's memory limit: an OOM kill looks exactly like a restart loop.",
            "Log a request id everywhere, so that one request can be followed across services.",
            "Load-test with realistic data; empty tables make every query look fast.",
            "Prefer boring, well-documented tools over clever ones.",
            "Keep secrets out of the image and inject them at run time.",
            "\n\n- Measure first.\n- Change one thing at a time.\n- Keep a way back.\n\n",
            "\n\n```\nEXPLAIN (ANALYZE, BUFFERS) SELECT ...;\n```\n\n",
        ),
    ),
    ("consultant", "ru"): Phrases(
        questions=_expand(
            (
                "Как {task} в {tech}?",
                "{tech} {symptom} после последнего релиза. Куда смотреть в первую очередь?",
                "Стоит ли {task} через {tech}, или есть способ проще?",
                "Объясни, как в {tech} устроен {concept}.",
            ),
            tech=_TECH,
            task=(
                "настроить пул соединений",
                "накатить миграции без простоя",
                "кэшировать тяжёлые запросы",
                "найти утечку памяти",
                "безопасно повторять упавшие задачи",
                "сделать пагинацию по большой таблице",
            ),
            symptom=(
                "стал заметно медленнее",
                "падает по памяти",
                "отваливается по таймауту под нагрузкой",
                "перезапускается каждые несколько минут",
            ),
            concept=("graceful shutdown", "rate limiting", "health check", "backpressure"),
        ),
        details=_RU_DETAILS_TECH,
        openers=(
            "Коротко: зависит от нагрузки, но я бы сделал так.",
            "Хороший вопрос, встречается часто.",
            "Обычно у этого две причины.",
        ),
        sentences=(
            "Сначала измерьте: включите лог медленных запросов и посмотрите на пятёрку худших.",
            "Пул соединений обычно даёт самый большой выигрыш за минимум усилий.",
            "Делайте изменение маленьким и обратимым, выкатывайте за флагом.",
            "Добавьте индекс под фильтр и сортировку и проверьте план через EXPLAIN ANALYZE.",
            "Поставьте явные таймауты на все сетевые вызовы: по умолчанию они часто бесконечные.",
            "Сделайте задачу идемпотентной, тогда повторы станут безопасными.",
            "Смотрите на p95, а не на среднее: среднее прячет медленный хвост.",
            "Проверьте лимит памяти контейнера: OOM выглядит ровно как цикл перезапусков.",
            "Нагрузочный тест делайте на реалистичных данных, пустые таблицы врут.",
            "\n\n- Сначала измерить.\n- Менять по одному.\n- Держать путь назад.\n\n",
        ),
    ),
    ("english-tutor", "en"): Phrases(
        questions=_expand(
            (
                "What's the difference between {pair}?",
                'Is this sentence correct: "{sentence}"?',
                "When do I use {grammar}?",
                "Can you give me three examples with {pair}?",
            ),
            pair=(
                '"affect" and "effect"',
                '"since" and "for"',
                '"make" and "do"',
                '"fewer" and "less"',
                '"borrow" and "lend"',
            ),
            sentence=(
                "I am working here since 2019",
                "He suggested me to apply",
                "We discussed about the plan",
                "If I would know, I would tell you",
            ),
            grammar=(
                "the present perfect",
                "the past continuous",
                "articles",
                "the third conditional",
            ),
        ),
        details=(
            "I have a job interview next week.",
            "My teacher marked it as a mistake, but I don't see why.",
            "I hear both versions in films.",
            "Please explain it simply.",
        ),
        openers=(
            "Nice question: this trips up many learners.",
            "Almost right, with one small fix.",
            "Here is the rule in one line, then examples.",
        ),
        sentences=(
            "Use the present perfect for something that started in the past and is still true.",
            'With "since" you name the starting point; with "for" you name the length of time.',
            '"Affect" is usually the verb and "effect" the noun.',
            'We say "suggested that I apply" or "suggested applying", never "suggested me".',
            '"Discuss" takes a direct object, so there is no "about" after it.',
            'In the if-clause of a conditional we do not use "would".',
            "Try saying the sentence aloud: the natural version usually sounds shorter.",
            "\n\n1. I have lived here for ten years.\n2. She has worked here since May.\n"
            "3. They have known each other for ages.\n\n",
            "Write three sentences of your own and I will check them.",
        ),
    ),
    ("english-tutor", "ru"): Phrases(
        questions=_expand(
            (
                "В чём разница между {pair}?",
                'Правильно ли так: "{sentence}"?',
                "Когда используется {grammar}?",
            ),
            pair=('"affect" и "effect"', '"since" и "for"', '"make" и "do"', '"fewer" и "less"'),
            sentence=("I am working here since 2019", "He suggested me to apply"),
            grammar=("present perfect", "past continuous", "артикль the", "third conditional"),
        ),
        details=("Через неделю собеседование на английском.", "Объясни попроще, пожалуйста."),
        openers=("Почти правильно, одна поправка.", "Вот правило в одну строку и примеры."),
        sentences=(
            "Present perfect нужен, когда действие началось в прошлом и продолжается сейчас.",
            'После "since" называют момент начала, после "for" длительность.',
            '"Affect" обычно глагол, а "effect" существительное.',
            'Правильно "suggested that I apply" или "suggested applying".',
            'В придаточном с if "would" не ставится.',
            "\n\n1. I have lived here for ten years.\n2. She has worked here since May.\n\n",
            "Напишите три своих примера, я проверю.",
        ),
    ),
    ("editor", "en"): Phrases(
        questions=_expand(
            (
                'Please make this clearer: "{draft}"',
                'Can you shorten this and keep the tone friendly? "{draft}"',
                'Fix the grammar, please: "{draft}"',
                "Suggest three titles for a post about {topic}.",
            ),
            draft=(
                "We are happy to announce that starting from next month our service will be "
                "available also in the evening hours.",
                "Due to the reason that the server was down the reports was delayed.",
                "Our team have been working hard in order to deliver the new features.",
                "Please be informed that the meeting is moved to Thursday.",
            ),
            topic=("remote onboarding", "our pricing change", "a year of open source"),
        ),
        details=("It goes into a newsletter.", "The audience is customers, not developers."),
        openers=("Here is a tighter version.", "A few small changes make it read better."),
        sentences=(
            '"From next month, you can also reach us in the evening."',
            '"The reports were late because the server was down."',
            "I removed the filler words and put the news first.",
            "Active voice makes the sentence shorter and more direct.",
            '"Team" takes a singular verb in American English.',
            "If you want it warmer, start with a thank-you to the readers.",
            "\n\n1. What we learned onboarding remotely\n2. Remote onboarding, one year in\n"
            "3. Your first week, from anywhere\n\n",
        ),
    ),
    ("editor", "ru"): Phrases(
        questions=_expand(
            (
                'Сделай текст понятнее: "{draft}"',
                'Сократи, сохранив дружелюбный тон: "{draft}"',
                "Придумай три заголовка для поста про {topic}.",
            ),
            draft=(
                "Доводим до вашего сведения, что с понедельника офис работает по новому графику.",
                "В связи с тем, что сервер был недоступен, отчёты задержались.",
            ),
            topic=("удалённый онбординг", "изменение цен", "год в open source"),
        ),
        details=("Это для рассылки клиентам.",),
        openers=("Вот вариант покороче.", "Пара правок, и читается легче."),
        sentences=(
            '"С понедельника офис работает по новому графику."',
            '"Отчёты задержались: сервер был недоступен."',
            "Убрал канцелярит и поставил главное в начало.",
            "Если нужно теплее, начните с благодарности читателям.",
        ),
    ),
    ("product-analyst", "en"): Phrases(
        questions=_expand(
            (
                "How should I measure {metric} for {feature}?",
                "Our {metric} dropped by {percent} after {event}. Where do I start?",
                "Which metrics would you track for {feature}?",
                "How large a sample do I need for an A/B test of {feature}?",
            ),
            metric=("retention", "conversion", "activation", "churn"),
            feature=("the new onboarding", "the annual plan", "push reminders", "the search page"),
            percent=_PERCENTS,
            event=("the redesign", "the price change", "the app release"),
        ),
        details=(
            "We have about 20k weekly active users.",
            "Data is in PostgreSQL and a spreadsheet.",
            "Management wants numbers by Friday.",
        ),
        openers=("Start from the decision the number should support.", "Let's break it down."),
        sentences=(
            "Define the metric precisely: who is counted, in which window, and what counts as "
            "success.",
            "Compare cohorts by signup week, not calendar totals, or seasonality will fool you.",
            "Check the tracking first: many drops are instrumentation bugs.",
            "Segment by platform and acquisition channel before looking for deeper causes.",
            "For an A/B test, fix the sample size and the duration before you start.",
            "A guardrail metric keeps a local win from becoming a global loss.",
            "Report the confidence interval, not just the point estimate.",
            "\n\n- Activation: first question answered within a day.\n"
            "- Retention: active again in week two.\n- Churn: no activity for 30 days.\n\n",
        ),
    ),
    ("product-analyst", "ru"): Phrases(
        questions=_expand(
            (
                "Как измерить {metric} для {feature}?",
                "{metric} упала на {percent} после {event}. С чего начать?",
            ),
            metric=("retention", "конверсию", "активацию"),
            feature=("нового онбординга", "годового тарифа", "push-напоминаний"),
            percent=_PERCENTS,
            event=("редизайна", "изменения цен", "релиза приложения"),
        ),
        details=("У нас около 20 тысяч активных пользователей в неделю.",),
        openers=("Начните с решения, которое цифра должна поддержать.", "Давайте по шагам."),
        sentences=(
            "Определите метрику точно: кого считаем, в каком окне и что считается успехом.",
            "Сравнивайте когорты по неделе регистрации, а не календарные итоги.",
            "Сначала проверьте трекинг: многие просадки это баги событий.",
            "Разбейте по платформам и каналам привлечения.",
            "Для A/B-теста заранее зафиксируйте размер выборки и длительность.",
        ),
    ),
    (INSIGHTS_PHRASES, "en"): Phrases(
        questions=_expand(
            (
                "How many dialogs did we have {period}?",
                "What was the p95 answer latency {period}?",
                "Which role was used most {period}?",
                "Show daily active users {period}, split by channel.",
                "How many answers failed {period}, and why?",
                "Who were the ten most active users {period}?",
            ),
            period=_EN_PERIODS,
        ),
        details=("Compare with the period before, please.", "A chart would help."),
        openers=_expand(
            (
                "The answer is {number} for that period, {percent} more than the period before.",
                "The query found {number} matching rows.",
            ),
            number=_NUMBERS,
            percent=_PERCENTS,
        ),
        sentences=(
            "The busiest day was a Tuesday; weekends are about 40% quieter.",
            "Most failures were timeouts of the model endpoint, the rest rate limits.",
            "Telegram carries about 95% of the traffic, the console the rest.",
            "The chart shows the daily figures; the table below has the exact numbers.",
            "Latency peaks in the evening, when the most questions arrive.",
        ),
        sql=(
            "SELECT date(started_at) AS day, count(*) AS dialogs FROM dialogs "
            "GROUP BY day ORDER BY day",
            "SELECT role, count(*) AS dialogs FROM dialogs GROUP BY role ORDER BY dialogs DESC",
            "SELECT error_code, count(*) AS failed FROM messages WHERE role = 'user' "
            "AND status = 'error' GROUP BY error_code ORDER BY failed DESC",
            "SELECT d.channel, date(m.created_at) AS day, count(DISTINCT d.user_id) AS users "
            "FROM messages m JOIN dialogs d ON d.id = m.dialog_id GROUP BY d.channel, day",
            "SELECT u.username, count(*) AS questions FROM messages m "
            "JOIN dialogs d ON d.id = m.dialog_id JOIN users u ON u.id = d.user_id "
            "WHERE m.role = 'user' GROUP BY u.username ORDER BY questions DESC LIMIT 10",
        ),
    ),
    (INSIGHTS_PHRASES, "ru"): Phrases(
        questions=_expand(
            (
                "Сколько диалогов было {period}?",
                "Какая была p95 задержка ответа {period}?",
                "Какую роль выбирали чаще всего {period}?",
                "Сколько ответов не дошло {period} и почему?",
            ),
            period=_RU_PERIODS,
        ),
        details=("Сравни с предыдущим периодом.",),
        openers=_expand(
            ("Нашлось {number} строк, на {percent} больше, чем в прошлом периоде.",),
            number=_NUMBERS,
            percent=_PERCENTS,
        ),
        sentences=(
            "Самый загруженный день вторник, в выходные примерно на 40% тише.",
            "Большинство сбоев это таймауты модели, остальное лимиты запросов.",
            "На графике дневные значения, в таблице точные числа.",
        ),
        sql=(
            "SELECT date(started_at) AS day, count(*) AS dialogs FROM dialogs "
            "GROUP BY day ORDER BY day",
            "SELECT role, count(*) AS dialogs FROM dialogs GROUP BY role ORDER BY dialogs DESC",
        ),
    ),
}
GENERAL_ROLE = "consultant"  # how roles without phrases of their own sound

NAMES_LATIN = (
    ("Alex", "Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas",
     "Laura", "Lucas", "Maria", "Noah", "Olivia", "Paul", "Sofia", "Tom", "Zoe"),
    ("Smith", "Müller", "Garcia", "Martin", "Rossi", "Schmidt", "Brown", "Lopez", "Dubois",
     "Weber", "Silva", "Fischer"),
)  # fmt: skip
NAMES_CYRILLIC = (
    ("Алексей", "Анна", "Дмитрий", "Екатерина", "Иван", "Мария", "Никита", "Ольга", "Павел",
     "Светлана", "Сергей", "Татьяна", "Юлия", "Артём", "Полина", "Максим"),
    ("Иванов", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Козлов", "Новикова",
     "Морозов", "Волкова"),
)  # fmt: skip
HANDLES = (
    "dev", "coder", "pixel", "nord", "alpha", "sky", "byte", "fox", "wolf", "lynx", "nova",
    "orbit", "delta", "echo", "river", "stone", "maple", "tiger", "quant", "spark",
)  # fmt: skip


# --- when people write --------------------------------------------------------------------------


class Period:
    """The milliseconds [start, end) of the seeded days, end cut at the present moment, and
    the daily and weekly rhythm over them, to draw times from."""

    def __init__(self, start_ms: int, end_ms: int) -> None:
        self.start_ms, self.end_ms = start_ms, end_ms
        self._cumulative = [0.0]
        for hour_start in range(start_ms, end_ms, HOUR_MS):
            moment = datetime.fromtimestamp(hour_start / 1000, UTC)
            part = (min(hour_start + HOUR_MS, end_ms) - hour_start) / HOUR_MS
            weight = HOURLY[moment.hour] * WEEKLY[moment.weekday()] * part
            self._cumulative.append(self._cumulative[-1] + weight)

    @property
    def span_ms(self) -> int:
        return self.end_ms - self.start_ms

    def at(self, fraction: float) -> int:
        """The moment a fraction of the way through the period (by the clock)."""
        return self.start_ms + int(fraction * self.span_ms)

    def _mass(self, moment_ms: int) -> float:
        """How much activity the rhythm puts before a moment."""
        hour, into = divmod(moment_ms - self.start_ms, HOUR_MS)
        if hour >= len(self._cumulative) - 1:
            return self._cumulative[-1]
        low, high = self._cumulative[hour], self._cumulative[hour + 1]
        length = min(HOUR_MS, self.end_ms - self.start_ms - hour * HOUR_MS)
        return low + (high - low) * into / length

    def draw(self, rng: random.Random, low_ms: int, high_ms: int) -> int:
        """A moment in [low, high), more likely in busy hours."""
        low, high = self._mass(low_ms), self._mass(high_ms)
        # One draw whatever the window: what comes after does not depend on the dates.
        target = low + rng.random() * (high - low)
        if high <= low:
            return low_ms
        hour = min(bisect_right(self._cumulative, target), len(self._cumulative) - 1) - 1
        before, after = self._cumulative[hour], self._cumulative[hour + 1]
        hour_start = self.start_ms + hour * HOUR_MS
        length = min(HOUR_MS, self.end_ms - hour_start)
        moment = hour_start + int((target - before) / (after - before) * length)
        return min(max(moment, low_ms), high_ms - 1)


# --- who writes, and what ------------------------------------------------------------------------


@dataclass(slots=True)
class Talker:
    """A Telegram user or a console account, and the habits the seed gave it."""

    console: bool  # a console account, or a Telegram user
    index: int  # into the accounts or the users
    window: tuple[int, int]  # ms: from joining to going quiet
    russian: float  # the share of dialogs in Russian
    insights: float = 0.0  # the share of console dialogs in Insights mode
    group_chat: int | None = None
    favourite_role: str | None = None  # chosen after `switch_after` dialogs in the default
    switch_after: int = 0


@dataclass(slots=True)
class DialogPlan:
    talker: int
    chat_id: int | None
    channel: str
    mode: str
    role: str
    duration_ms: int = 0  # from the first question to the last message
    last_question_ms: int = 0  # offset of the last question
    first_ms: int = 0  # when the first question came
    started_ms: int = 0
    ended_ms: int | None = None


@dataclass
class UserPlan:
    telegram_id: int
    username: str | None
    first_name: str
    last_name: str | None
    language_code: str | None
    role: str | None = None
    first_seen_ms: int = 0
    last_seen_ms: int = 0


@dataclass
class AccountPlan:
    username: str
    created_ms: int
    last_login_ms: int | None = None


@dataclass
class Demo:
    """Everything seed-demo writes, before ids and before writing."""

    users: list[UserPlan] = field(default_factory=list)
    accounts: list[AccountPlan] = field(default_factory=list)
    dialogs: list[DialogPlan] = field(default_factory=list)
    messages: list[MessagePlan] = field(default_factory=list)


@dataclass(frozen=True)
class Voice:
    """Questions and answers composed in advance from one pool of phrases: a dialog's turn
    then costs a draw, not a composition (a million messages are wanted fast)."""

    questions: tuple[str, ...]
    answers: tuple[str, ...]
    sql: tuple[str, ...]


# The standard normal distribution's quantiles, to draw from with one uniform draw (the
# library's gauss() costs several).
_NORMAL = tuple(NormalDist().inv_cdf((step + 0.5) / NORMAL_STEPS) for step in range(NORMAL_STEPS))


def _lognormal(rng: random.Random, median: float, spread: float) -> float:
    return median * math.exp(spread * _NORMAL[int(rng.random() * NORMAL_STEPS)])


def _weighted(rng: random.Random, choices: Sequence[tuple[T, float]]) -> T:
    target = rng.random() * sum(weight for _, weight in choices)
    for choice, weight in choices:
        target -= weight
        if target < 0:
            return choice
    return choices[-1][0]


def _shares(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in whole parts proportional to the weights, summing to `total` exactly."""
    whole, running, before, parts = sum(weights), 0.0, 0, []
    for weight in weights:
        running += weight
        after = round(total * running / whole) if whole else 0
        parts.append(after - before)
        before = after
    parts[-1] += total - before
    return parts


class Generator:
    """Builds the demo rows from one seeded random generator (see the module's docstring)."""

    def __init__(
        self,
        seed: int,
        period: Period,
        roles: RoleCatalog,
        max_context_messages: int,
        telegram_id_base: int,
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (demo data: reproducible, not secret)
        self.period = period
        self.default_role = roles.default.name
        others = [role.name for role in roles if role.name != self.default_role]
        # The default role is the most common by far; the others ever rarer, in catalog order.
        self.role_odds = [(self.default_role, 0.55)] + [
            (name, 0.45 / (rank + 1) / sum(1 / (k + 1) for k in range(len(others))))
            for rank, name in enumerate(others)
        ]
        self.prompt_tokens = {role.name: len(role.system_prompt) // 4 for role in roles}
        self.max_context = max_context_messages
        self.telegram_id_base = telegram_id_base
        self.model_switch_ms = period.at(2 / 3)
        self.demo = Demo()
        self.talkers: list[Talker] = []
        self.voices = {key: self._voice(phrases) for key, phrases in PHRASES.items()}

    # --- the cast ---

    def cast(self, users: int) -> None:
        rng = self.rng
        group_chats = max(2, min(12, users // 100))  # a few, each shared by several users
        for index in range(users):
            language = _weighted(rng, LANGUAGES)
            first_names, last_names = (
                NAMES_CYRILLIC if language in CYRILLIC_LANGUAGES else NAMES_LATIN
            )
            username = None
            if rng.random() < 0.8:
                username = f"{rng.choice(HANDLES)}_{rng.choice(HANDLES)}{rng.randrange(100)}"
            self.demo.users.append(
                UserPlan(
                    telegram_id=self.telegram_id_base + index,
                    username=username,
                    first_name=rng.choice(first_names),
                    last_name=rng.choice(last_names) if rng.random() < 0.6 else None,
                    language_code=language,
                )
            )
            # Growth: a third are there from the start, the others join over the period;
            # a quarter go quiet before its end.
            joined = 0.0 if rng.random() < 0.35 else rng.random() * 0.9
            left = joined + (1 - joined) * rng.uniform(0.2, 1.0) if rng.random() < 0.25 else 1.0
            favourite = _weighted(rng, self.role_odds)
            self.talkers.append(
                Talker(
                    console=False,
                    index=index,
                    window=(self.period.at(joined), self.period.at(left)),
                    russian=0.9 if language in CYRILLIC_LANGUAGES else 0.02,
                    group_chat=(
                        GROUP_CHAT_BASE - rng.randrange(group_chats)
                        if rng.random() < GROUP_MEMBER_SHARE
                        else None
                    ),
                    favourite_role=None if favourite == self.default_role else favourite,
                    switch_after=rng.randrange(3),
                )
            )
        for index, (name, _share, insights) in enumerate(DEMO_ACCOUNTS):
            created = self.period.start_ms - rng.randrange(DAY_MS, 30 * DAY_MS)
            self.demo.accounts.append(AccountPlan(name, created))
            self.talkers.append(
                Talker(
                    console=True,
                    index=index,
                    window=(self.period.start_ms, self.period.end_ms),
                    russian=0.5 * index,
                    insights=insights,
                )
            )

    def budgets(self, messages: int) -> list[int]:
        """Messages per talker: users by Zipf-like weights of shuffled ranks, then the console."""
        users = len(self.demo.users)
        web = round(messages * WEB_SHARE)
        ranks = list(range(1, users + 1))
        self.rng.shuffle(ranks)
        weights = [rank**-ZIPF_EXPONENT for rank in ranks]
        return _shares(messages - web, weights) + _shares(web, [s for _, s, _ in DEMO_ACCOUNTS])

    # --- conversations ---

    def converse(self, messages: int, progress: Callable[[int], None]) -> None:
        budgets = self.budgets(messages)
        carried = 0
        for index, (talker, budget) in enumerate(zip(self.talkers, budgets, strict=True)):
            last = index == len(self.talkers) - 1
            first_dialog = len(self.demo.dialogs)
            carried = self._talk(index, talker, budget + carried, last)
            self._lay_out(talker, self.demo.dialogs[first_dialog:])
            progress(budget)

    def _talk(self, index: int, talker: Talker, budget: int, last: bool) -> int:
        """Plan the talker's dialogs until its budget is spent; what is left (0, or 1 that the
        next talker takes over: every question but an interrupted one is two messages)."""
        rng, remaining, dialogs = self.rng, budget, 0
        while remaining > 1 or (remaining == 1 and last):
            length = min(MAX_QUESTIONS, 1 + int(math.log(1.0 - rng.random()) / _GEOMETRIC))
            plan = self._dialog_plan(index, talker, dialogs)
            remaining = self._turns(plan, length, remaining, last)
            dialogs += 1
        return remaining

    def _dialog_plan(self, index: int, talker: Talker, earlier: int) -> DialogPlan:
        rng = self.rng
        if talker.console:
            mode = INSIGHTS if rng.random() < talker.insights else ASSISTANT
            return DialogPlan(index, None, WEB, mode, self.default_role)
        user = self.demo.users[talker.index]
        chat = user.telegram_id
        if talker.group_chat is not None and rng.random() < GROUP_DIALOG_SHARE:
            chat = talker.group_chat
        role = self.default_role
        if talker.favourite_role is not None and earlier >= talker.switch_after:
            role = user.role = talker.favourite_role
        return DialogPlan(index, chat, TELEGRAM, ASSISTANT, role)

    def _turns(self, plan: DialogPlan, length: int, remaining: int, last: bool) -> int:
        """The dialog's questions and answers, up to `length` questions; the budget left."""
        rng = self.rng
        random_, exp, normal = rng.random, math.exp, _NORMAL
        dialog = len(self.demo.dialogs)
        self.demo.dialogs.append(plan)
        out = self.demo.messages.append
        insights = plan.mode == INSIGHTS
        language = "ru" if random_() < self.talkers[plan.talker].russian else "en"
        voice = self.voices.get(
            (INSIGHTS_PHRASES if insights else plan.role, language),
            self.voices[(GENERAL_ROLE, language)],
        )
        per_token = CHARS_PER_TOKEN[language]
        interrupted, cancelled, failed = OUTCOME_ODDS[plan.channel]
        system_tokens = self.prompt_tokens.get(plan.role, 0)
        if insights:
            system_tokens += INSIGHTS_PROMPT_TOKENS
        ttft_median = 1_800.0 if insights else 600.0
        context: list[int] = []  # tokens of the answered turns, oldest first
        offset = 0
        for _ in range(length):
            if remaining == 0 or (remaining == 1 and not last):
                break
            if offset:  # the user reads the answer, thinks, types
                pause = 60_000.0 * exp(normal[int(random_() * NORMAL_STEPS)])
                offset += int(min(600_000.0, max(10_000.0, pause)))
            question = voice.questions[int(random_() * VARIANTS)]
            asked = (offset, dialog, QUESTION, question, len(question))
            plan.last_question_ms = offset
            draw = random_()
            if remaining == 1 or draw < interrupted:
                # The process answering died: the sweep marked the question; no answer row.
                out((*asked, ERROR, INTERRUPTED, *NO_FIGURES))
                remaining -= 1
                offset += LLM_TIMEOUT_MS + int(_lognormal(rng, 30_000.0, 0.8))
                continue
            remaining -= 2
            if draw < interrupted + cancelled + failed:
                code = CANCELLED if draw < interrupted + cancelled else _weighted(rng, FAILURES)
                if code == TIMEOUT:
                    latency = LLM_TIMEOUT_MS + int(random_() * 400)
                else:
                    latency = max(50, int(_lognormal(rng, *FAILURE_LATENCY[code])))
                out((*asked, ERROR, code, *NO_FIGURES))
                offset += latency
                out((offset, dialog, ANSWER, "", 0, ERROR, code, None, None, None, latency, None))
                continue
            answer = voice.answers[int(random_() * VARIANTS)]
            asked_tokens = int(len(question) / per_token) + 1
            answer_tokens = int(len(answer) / per_token * (0.9 + 0.2 * random_())) + 1
            window = context[-self.max_context :]
            prompt = system_tokens + sum(window) + asked_tokens + 4 * (len(window) + 2)
            ttft = max(80, int(ttft_median * exp(0.45 * normal[int(random_() * NORMAL_STEPS)])))
            streaming = answer_tokens * 22.0 * exp(0.45 * normal[int(random_() * NORMAL_STEPS)])
            if random_() < 0.02:  # a slow endpoint now and then: the long tail
                streaming *= 2.0 + 6.0 * random_()
            latency = min(30_000, ttft + int(streaming) + 1)
            sql = voice.sql[int(random_() * len(voice.sql))] if insights else None
            out((*asked, OK, None, *NO_FIGURES))
            offset += latency
            out((offset, dialog, ANSWER, answer, len(answer), OK, None, prompt, answer_tokens,
                 ttft, latency, sql))  # fmt: skip
            context += (asked_tokens, answer_tokens)
        plan.duration_ms = offset
        return remaining

    def _voice(self, phrases: Phrases) -> Voice:
        """VARIANTS questions and answers composed from the phrases, for the dialogs to pick."""
        questions, answers = [], []
        for _ in range(VARIANTS):
            target = min(MAX_QUESTION_CHARS, max(20, int(_lognormal(self.rng, 90.0, 0.6))))
            question = self._pick(phrases.questions)
            questions.append(self._fill(question, phrases.details, target, MAX_QUESTION_CHARS))
            target = min(MAX_ANSWER_CHARS, max(80, int(_lognormal(self.rng, 300.0, 0.65))))
            answer = self._fill(
                self._pick(phrases.openers), phrases.sentences, target, MAX_ANSWER_CHARS
            )
            answers.append(answer.replace(" \n", "\n").replace("\n ", "\n").strip())
        return Voice(tuple(questions), tuple(answers), phrases.sql)

    def _pick(self, pool: Sequence[T]) -> T:
        return pool[int(self.rng.random() * len(pool))]

    def _fill(self, text: str, pool: tuple[str, ...], target: int, limit: int) -> str:
        """`text`, then sentences of the pool, none twice, until it is `target` characters long
        (never beyond `limit`): a walk through the pool from a random start, random strides."""
        random_, count = self.rng.random, len(pool)
        index, stride = int(random_() * count), 1 + int(random_() * (count - 1 or 1))
        parts, size = [text], len(text)
        for _ in range(count // math.gcd(count, stride)):
            sentence = pool[index]
            if size >= target or size + 1 + len(sentence) > limit:
                break
            parts.append(sentence)
            size += 1 + len(sentence)
            index = (index + stride) % count
        return " ".join(parts)

    # --- times ---

    def _lay_out(self, talker: Talker, dialogs: list[DialogPlan]) -> None:
        """Place the talker's dialogs one after another in its window, on the rhythm; pushed
        later when they would overlap, pulled back when they would pass the period's end;
        then end each at the start of the next in the same chat and mode (a /reset)."""
        if not dialogs:
            self._seen(talker, None, None)
            return
        rng, period = self.rng, self.period
        pauses = [20_000 + rng.randrange(600_000) for _ in dialogs]
        busy = sum(plan.duration_ms for plan in dialogs) + sum(pauses)
        if busy > 0.8 * period.span_ms:
            raise click.ClickException(
                "too many messages for the period: a user would talk non-stop; "
                "give more --days or --users, or fewer --messages"
            )
        low, high = talker.window
        starts = sorted(period.draw(rng, low, high) for _ in dialogs)
        free = period.start_ms
        for plan, start, pause in zip(dialogs, starts, pauses, strict=True):
            plan.first_ms = max(start, free)
            free = plan.first_ms + plan.duration_ms + pause
        limit = period.end_ms - 1
        for index in range(len(dialogs) - 1, -1, -1):
            plan = dialogs[index]
            if plan.first_ms + plan.duration_ms <= limit:
                break
            plan.first_ms = limit - plan.duration_ms
            limit = plan.first_ms - pauses[index - 1]
        self._reset_between(dialogs)
        self._seen(talker, dialogs[0].first_ms, dialogs[-1].first_ms + dialogs[-1].last_question_ms)

    def _reset_between(self, dialogs: list[DialogPlan]) -> None:
        rng = self.rng
        open_: dict[tuple[int | None, str], DialogPlan] = {}
        for plan in dialogs:
            plan.started_ms = plan.first_ms
            previous = open_.get((plan.chat_id, plan.mode))
            if previous is not None:
                done = previous.first_ms + previous.duration_ms
                half = (plan.first_ms - done) // 2
                if rng.random() < 0.35:  # reset right after the answer
                    reset = done + 1 + min(half, rng.randrange(2_000, 120_000))
                else:  # reset just before asking something new
                    reset = plan.first_ms - 1 - min(half, rng.randrange(1_000, 60_000))
                previous.ended_ms = plan.started_ms = reset
            open_[(plan.chat_id, plan.mode)] = plan

    def _seen(self, talker: Talker, first_ms: int | None, last_ms: int | None) -> None:
        rng = self.rng
        if talker.console:
            if last_ms is not None:
                account = self.demo.accounts[talker.index]
                account.last_login_ms = last_ms - rng.randrange(10_000, 600_000)
            return
        user = self.demo.users[talker.index]
        if first_ms is None or last_ms is None:  # started the bot, never asked anything
            first_ms = last_ms = self.period.draw(rng, *talker.window)
        user.first_seen_ms = max(self.period.start_ms, first_ms - rng.randrange(1_000, 120_000))
        user.last_seen_ms = last_ms


_GEOMETRIC = math.log(1 - 1 / MEAN_QUESTIONS)


# --- writing ----------------------------------------------------------------------------------


class Timestamps:
    """Milliseconds since 1970 as the database's text for a UTC timestamp: SQLAlchemy's SQLite
    storage format, or with an explicit +00 for PostgreSQL. Built from pieces formatted once:
    a million of them are wanted."""

    def __init__(self, suffix: str) -> None:
        self._days: dict[int, str] = {}
        self._seconds = [
            f"{hour:02d}:{minute:02d}:{second:02d}."
            for hour in range(24)
            for minute in range(60)
            for second in range(60)
        ]
        self._fractions = [f"{milli:03d}000{suffix}" for milli in range(1000)]

    def __call__(self, moment_ms: int) -> str:
        day, into = divmod(moment_ms, DAY_MS)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = f"{date(1970, 1, 1) + timedelta(days=day)} "
        second, milli = divmod(into, 1000)
        return prefix + self._seconds[second] + self._fractions[milli]

    def maybe(self, moment_ms: int | None) -> str | None:
        return None if moment_ms is None else self(moment_ms)


USER_COLUMNS = (
    "id", "telegram_id", "username", "first_name", "last_name", "language_code", "role",
    "first_seen_at", "last_seen_at",
)  # fmt: skip
ACCOUNT_COLUMNS = ("id", "username", "password_hash", "is_admin", "created_at", "last_login_at")
DIALOG_COLUMNS = (
    "id", "user_id", "account_id", "chat_id", "channel", "mode", "role", "started_at", "ended_at",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "dialog_id", "role", "content", "length", "created_at", "status", "error_code",
    "model", "prompt_tokens", "completion_tokens", "ttft_ms", "latency_ms", "sql",
)  # fmt: skip
PROGRESS_STEP = 10_000
SQLITE_LOAD_CACHE_KIB = 2_097_152  # pages are allocated as needed: up to 2 GiB for a big load


@dataclass
class Ids:
    """The first free id of each table: seeded rows get ids from there on, in time order."""

    users: int
    accounts: int
    dialogs: int
    messages: int


def _ids_in_order(first: int, moments: Sequence[int]) -> list[int]:
    """Ids from `first` on, given in the order of the moments (as rows inserted over time)."""
    ids = [0] * len(moments)
    for position, index in enumerate(sorted(range(len(moments)), key=moments.__getitem__)):
        ids[index] = first + position
    return ids


class Rows:
    """The demo's rows with their ids, in the tables' column order, timestamps as text."""

    def __init__(
        self, generator: Generator, ids: Ids, accounts: dict[str, int], suffix: str
    ) -> None:
        demo = self.demo = generator.demo
        self.generator, self.stamp = generator, Timestamps(suffix)
        self.user_ids = _ids_in_order(ids.users, [user.first_seen_ms for user in demo.users])
        self.dialog_ids = _ids_in_order(ids.dialogs, [plan.started_ms for plan in demo.dialogs])
        # Demo accounts kept from an earlier seeding (their dialogs deleted) are used again.
        self.new_accounts = [plan for plan in demo.accounts if plan.username not in accounts]
        self.account_ids = [
            accounts.get(plan.username) or ids.accounts + self.new_accounts.index(plan)
            for plan in demo.accounts
        ]
        self.first_message_id = ids.messages
        self.firsts = [plan.first_ms for plan in demo.dialogs]
        firsts = self.firsts
        demo.messages.sort(key=lambda message: firsts[message[1]] + message[0])

    def tables(
        self, progress: Callable[[int], None]
    ) -> Iterator[tuple[str, Sequence[str], Iterable[tuple[Any, ...]]]]:
        """(table, columns, rows), parents first."""
        yield "accounts", ACCOUNT_COLUMNS, self._accounts()
        yield "users", USER_COLUMNS, sorted(self._users())
        yield "dialogs", DIALOG_COLUMNS, sorted(self._dialogs())
        yield "messages", MESSAGE_COLUMNS, self._messages(progress)

    def _accounts(self) -> Iterator[tuple[Any, ...]]:
        stamp = self.stamp
        for plan in self.new_accounts:
            # No valid hash at all (not even of a random password): nobody signs in as these.
            yield (
                self.account_ids[self.demo.accounts.index(plan)],
                plan.username,
                secrets.token_hex(32),
                False,
                stamp(plan.created_ms),
                stamp.maybe(plan.last_login_ms),
            )

    def _users(self) -> Iterator[tuple[Any, ...]]:
        stamp = self.stamp
        for user_id, user in zip(self.user_ids, self.demo.users, strict=True):
            yield (
                user_id,
                user.telegram_id,
                user.username,
                user.first_name,
                user.last_name,
                user.language_code,
                user.role,
                stamp(user.first_seen_ms),
                stamp(user.last_seen_ms),
            )

    def _dialogs(self) -> Iterator[tuple[Any, ...]]:
        stamp, talkers = self.stamp, self.generator.talkers
        for dialog_id, plan in zip(self.dialog_ids, self.demo.dialogs, strict=True):
            talker = talkers[plan.talker]
            user = None if talker.console else self.user_ids[talker.index]
            account = self.account_ids[talker.index] if talker.console else None
            yield (
                dialog_id,
                user,
                account,
                plan.chat_id,
                plan.channel,
                plan.mode,
                plan.role,
                stamp(plan.started_ms),
                stamp.maybe(plan.ended_ms),
            )

    def _messages(self, progress: Callable[[int], None]) -> Iterator[tuple[Any, ...]]:
        stamp, firsts, dialog_ids = self.stamp, self.firsts, self.dialog_ids
        switch, first_id = self.generator.model_switch_ms, self.first_message_id
        for number, message in enumerate(self.demo.messages):
            offset, dialog, author, content, length, status, code = message[:7]
            created = firsts[dialog] + offset
            model = MODELS[created >= switch] if author == ANSWER else None
            yield (first_id + number, dialog_ids[dialog], author, content, length,
                   stamp(created), status, code, model, *message[7:])  # fmt: skip
            if number % PROGRESS_STEP == PROGRESS_STEP - 1:
                progress(PROGRESS_STEP)
        progress(len(self.demo.messages) % PROGRESS_STEP)


def _write_sqlite(connection: sa.Connection, rows: Rows, progress: Callable[[int], None]) -> None:
    """Plain executemany on the driver's connection, inside the caller's transaction."""
    driver: Any = connection.connection.driver_connection
    for table, columns, values in rows.tables(progress):
        marks = ", ".join("?" * len(columns))
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (constants)
        driver.executemany(insert, values)


def _write_postgres(connection: sa.Connection, rows: Rows, progress: Callable[[int], None]) -> None:
    """COPY on the driver's connection, inside the caller's transaction; then the sequences
    move past the ids given here, so that the app's own inserts go on from there."""
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor:
        for table, columns, values in rows.tables(progress):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"  # noqa: S608 (constants)
                " HAVING MAX(id) IS NOT NULL"
            )


# Indexes and foreign keys a bulk load does without: built once at the end from sorted data
# (and checked by one join) instead of updated and checked a row at a time.
_SQLITE_INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"
    " AND sql IS NOT NULL"
)
_POSTGRES_INDEXES = (
    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i"
    " ON i.oid = x.indexrelid WHERE x.indrelid = CAST(:table AS regclass) AND NOT EXISTS"
    " (SELECT 1 FROM pg_constraint c WHERE c.conrelid = x.indrelid AND c.conindid = x.indexrelid)"
)
_POSTGRES_FOREIGN_KEYS = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = CAST(:table AS regclass) AND contype = 'f'"
)
POSTGRES_LOAD_SETTINGS = ("SET LOCAL maintenance_work_mem = '512MB'", "SET LOCAL work_mem = '64MB'")


@contextmanager
def _indexes_set_aside(connection: sa.Connection, table: str) -> Iterator[None]:
    """Drop the table's secondary indexes (and on PostgreSQL its foreign keys), then create
    them again, the same, at the end: all inside the caller's transaction. On PostgreSQL this
    locks the table's readers out until the seeding commits (the database was empty)."""
    postgres = connection.dialect.name == "postgresql"
    restore: list[str] = []
    found = connection.execute(
        sa.text(_POSTGRES_INDEXES if postgres else _SQLITE_INDEXES), {"table": table}
    )
    for name, definition in found.all():
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
        restore.append(definition)
    if postgres:
        keys = connection.execute(sa.text(_POSTGRES_FOREIGN_KEYS), {"table": table})
        for name, definition in keys.all():
            connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    yield
    for statement in restore:
        connection.exec_driver_sql(statement)


@contextmanager
def _load_settings(connection: sa.Connection) -> Iterator[None]:
    """Memory for a bulk load. SQLite: a page cache that holds it (the default 2 MB spills pages
    to the WAL mid-transaction and reads them back). PostgreSQL: room to sort for the index
    builds and the statistics' rebuild (SET LOCAL: until the transaction ends)."""
    if connection.dialect.name == "postgresql":
        for statement in POSTGRES_LOAD_SETTINGS:
            connection.exec_driver_sql(statement)
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {before}")


def _free_ids(connection: sa.Connection) -> Ids:
    def next_id(model: type[Any]) -> int:
        return int(connection.execute(sa.select(sa.func.max(model.id))).scalar() or 0) + 1

    return Ids(next_id(User), next_id(Account), next_id(Dialog), next_id(Message))


def _period(last_day: date, days: int, now: datetime) -> Period:
    """The days ending with `last_day` (UTC), cut at `now`."""
    if last_day > now.date():
        raise click.ClickException(f"--until {last_day} is after today ({now.date()}, UTC)")
    first = datetime(last_day.year, last_day.month, last_day.day, tzinfo=UTC)
    first -= timedelta(days=days - 1)
    end = min(first + timedelta(days=days), now)
    return Period(int(first.timestamp() * 1000), int(end.timestamp() * 1000))


@contextmanager
def _progress(label: str, length: int, then: str = "") -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal, and what comes `then`; nothing otherwise (logs, pipes)."""
    if not sys.stdout.isatty():
        yield lambda _steps: None
        return
    with click.progressbar(length=length, label=label) as bar:
        yield bar.update
    if then:
        click.echo(then)


def _vacuumed(engine: sa.Engine | sa.Connection) -> None:
    """PostgreSQL: vacuum and analyze what was loaded, so that the first reads have planner
    statistics and index-only scans (a fresh table's visibility map is empty), and so that
    autovacuum does not do it over the tables while the first dashboards load."""
    if engine.dialect.name != "postgresql":
        return
    with engine.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(SEEDED_TABLES)}")


SEEDED_TABLES = (
    "accounts",
    "users",
    "dialogs",
    "messages",
    "stats_counts",
    "stats_users",
    "stats_latency",
)


@click.command("seed-demo")
@click.option(
    "--users",
    "user_count",
    type=click.IntRange(min=1),
    default=1_000,
    show_default=True,
    help="Telegram users.",
)
@click.option(
    "--messages",
    "message_count",
    type=click.IntRange(min=0),
    default=100_000,
    show_default=True,
    help="Messages: questions and answers together.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Days of activity, ending with --until.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="The same seed and arguments (with --until) give the same rows.",
)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The last day (UTC, YYYY-MM-DD); today by default, up to now.",
)
@with_appcontext
def seed_demo_command(
    user_count: int, message_count: int, days: int, seed: int, until: datetime | None
) -> None:
    """Fill an empty database with realistic demo users, dialogs and messages."""
    began = time.monotonic()
    now = utcnow()
    period = _period(until.date() if until else now.date(), days, now)
    settings, roles = services().settings, services().roles
    with write_session() as session:
        connection = session.connection()
        dialogs = connection.execute(sa.select(sa.func.count()).select_from(Dialog)).scalar_one()
        if dialogs:
            raise click.ClickException(
                f"seed-demo fills an empty database; this one holds {dialogs:,} dialogs"
            )
        highest = connection.execute(sa.select(sa.func.max(User.telegram_id))).scalar()
        demo_accounts = sa.select(Account.username, Account.id).where(
            Account.username.in_([name for name, _, _ in DEMO_ACCOUNTS])
        )
        accounts: dict[str, int] = dict(connection.execute(demo_accounts).all())
        generator = Generator(
            seed,
            period,
            roles,
            settings.MAX_CONTEXT_MESSAGES,
            max(TELEGRAM_ID_BASE, (highest or 0) + 1),
        )
        generator.cast(user_count)
        with _progress("generating", message_count) as advance:
            generator.converse(message_count, advance)
        postgres = connection.dialect.name == "postgresql"
        rows = Rows(generator, _free_ids(connection), accounts, "+00" if postgres else "")
        write = _write_postgres if postgres else _write_sqlite
        # The dialogs' indexes come back after the statistics' rebuild (it updates every
        # dialog), the messages' before it (it reads the messages by dialog).
        with (
            _load_settings(connection),
            _indexes_set_aside(connection, "dialogs"),
            bulk_load(connection),
            _indexes_set_aside(connection, "messages"),
            _progress("writing", message_count, then="indexes and statistics...") as advance,
        ):
            write(connection, rows, advance)
    _vacuumed(session.get_bind())
    click.echo(
        f"seeded {message_count:,} messages in {len(generator.demo.dialogs):,} dialogs"
        f" for {user_count:,} users in {time.monotonic() - began:.1f} s"
    )
