"""English: the default catalogue."""

from bot.texts.catalogue import CommandTexts, Texts

EN = Texts(
    language="en",
    commands=CommandTexts(
        start="Start: greeting and the current role",
        help="What I can do",
        role="Show or change my role",
        reset="Start a new dialog (clears the context)",
        status="Model, context and today's usage",
        forget="Delete all your dialogs and messages",
    ),
    start=(
        "Hello, {name}! I am an AI assistant.\n\n"
        "My current role: <b>{role_title}</b> — {role_description}\n\n"
        "Just write me a message. /help lists the commands."
    ),
    help=(
        "<b>Commands</b>\n"
        "/start — greeting and the current role\n"
        "/help — this list\n"
        "/role — show my role and switch to another one\n"
        "/reset — start a new dialog (the context is cleared, the history is kept)\n"
        "/status — model, context in use and today's usage\n"
        "/forget — delete all your dialogs and messages\n\n"
        "In a group, mention me or reply to my message to talk to me."
    ),
    role_current="My current role: <b>{title}</b>\n{description}\n\nChoose a role:",
    role_switched="Role switched to <b>{title}</b>: {description}\nA new dialog has started.",
    role_unknown="That role is no longer available. Send /role to see the current ones.",
    role_mark="✓ ",
    reset_done="A new dialog has started: the context is cleared (the history is kept).",
    status=(
        "<b>Status</b>\n"
        "Model: <code>{model}</code> ({llm})\n"
        "Role: {role}\n"
        "Context: {used} of {max} messages\n"
        "Today — messages: {messages}, tokens: {prompt} prompt + {completion} completion"
    ),
    llm_reachable="reachable",
    llm_unreachable="unreachable right now",
    forget_confirm=(
        "This deletes <b>all</b> your dialogs and messages, in every chat. "
        "It cannot be undone. Delete them?"
    ),
    forget_yes="Yes, delete everything",
    forget_no="Cancel",
    forget_done=(
        "Deleted — dialogs: {dialogs}, messages: {messages}. Your next message starts afresh."
    ),
    forget_cancelled="Nothing was deleted.",
    forget_not_yours="Only the person who asked can confirm this.",
    non_text="I can only read text messages. Please write your question as text.",
    empty_question="Yes? Write your question after the mention.",
    too_long=(
        "Your message is {length} characters long; I can read at most {limit}. "
        "Please shorten it or split it into several messages."
    ),
    rate_limited=(
        "Too many messages: at most {count} per {period}. "
        "Messages you send in the next {wait} s will be ignored."
    ),
    periods={1.0: "second", 60.0: "minute", 3600.0: "hour"},
    not_allowed="Sorry, this bot is private.",
    api_unavailable=(
        "Sorry, I cannot reach my service right now and could not answer. "
        "Please send your message again in a minute."
    ),
    empty_answer="The model returned an empty answer. Please try rephrasing your question.",
    failed="Sorry, something went wrong on my side. Please try again.",
    answer_errors={
        "llm_timeout": "The model took too long to answer. Please try again.",
        "llm_rate_limited": (
            "The model is getting too many requests right now. Please try again in a minute."
        ),
        "llm_unavailable": (
            "The model's service is having trouble right now. Please try again a little later."
        ),
        "llm_unreachable": (
            "I cannot reach the language model right now. Please try again a little later."
        ),
        "llm_bad_response": "The model's answer came back garbled. Please send your message again.",
        "llm_rejected": (
            "The model refused this request. If it keeps happening, please tell the bot's owner."
        ),
        "internal_error": "Something broke on my side while answering. Please try again.",
        "cancelled": "The answer was cancelled before it was finished. Please send it again.",
        "interrupted": (
            "The answer was interrupted (the service restarted). Please send your message again."
        ),
        "answer_in_progress": (
            "I am still answering your previous message. Send this one again once it is answered."
        ),
        # Insights runs in the web console only; the bot never gets these, but knows them.
        "insights_unsafe_query": "That query was refused for safety and did not run.",
        "insights_query_failed": "The query for this question failed. Please rephrase it.",
        "insights_query_timeout": "The query took too long. Please ask a narrower question.",
        "insights_unanswerable": "I can't answer that from this data.",
    },
)
