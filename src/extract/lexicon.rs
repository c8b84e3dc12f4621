//! The words the attribution rules look for, in English, Russian and Ukrainian.
//!
//! Every list is matched against a word lowercased with `ё` read as `е` and `’` as `'`
//! ([`fold`]). Russian and Ukrainian forms are listed in full (gender, number, gerund) rather
//! than stemmed: a stem like `заяв` would also take the noun `заявление` ("statement").

/// A word folded for lexicon lookups and alias matching: lowercase, `ё` → `е`, curly
/// apostrophes straightened, combining marks dropped (so "Zelenskyý" typed with a combining
/// accent still equals its precomposed spelling once both are folded the same way).
pub fn fold(word: &str) -> String {
    word.chars()
        .filter(|c| !is_combining(*c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ё' => 'е',
            '’' | 'ʼ' | '‘' => '\'',
            other => other,
        })
        .collect()
}

/// Combining diacritical marks: they belong to the letter before them.
pub fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Verbs that report speech or writing. Past, present and (ru/uk) gerund forms.
const SPEECH_VERBS: &[&str] = &[
    // English
    "said",
    "says",
    "say",
    "told",
    "tells",
    "stated",
    "states",
    "added",
    "adds",
    "wrote",
    "writes",
    "warned",
    "warns",
    "noted",
    "notes",
    "stressed",
    "stresses",
    "insisted",
    "insists",
    "declared",
    "declares",
    "announced",
    "announces",
    "explained",
    "explains",
    "argued",
    "argues",
    "claimed",
    "claims",
    "asserted",
    "asserts",
    "replied",
    "replies",
    "responded",
    "responds",
    "commented",
    "comments",
    "remarked",
    "remarks",
    "emphasised",
    "emphasized",
    "emphasises",
    "emphasizes",
    "continued",
    "continues",
    "concluded",
    "recalled",
    "acknowledged",
    "admitted",
    "urged",
    "cautioned",
    "confirmed",
    "posted",
    "tweeted",
    "observed",
    "asked",
    "asks",
    "answered",
    "spoke",
    "speaking",
    "saying",
    "telling",
    "adding",
    "writing",
    "warning",
    "stressing",
    "insisting",
    "noting",
    "underlined",
    "underscored",
    "reiterated",
    "repeated",
    "pledged",
    "vowed",
    "promised",
    "conceded",
    "complained",
    "predicted",
    "suggested",
    "assured",
    "reported",
    "quoted",
    "announcing",
    // Russian (and forms Ukrainian shares: заявила, сказала, …)
    "заявил",
    "заявила",
    "заявили",
    "заявило",
    "заявив",
    "заявляет",
    "заявляют",
    "заявлял",
    "сказал",
    "сказала",
    "сказали",
    "сказав",
    "сказало",
    "говорит",
    "говорят",
    "говорил",
    "говорила",
    "отметил",
    "отметила",
    "отметили",
    "отметив",
    "подчеркнул",
    "подчеркнула",
    "подчеркнули",
    "подчеркнув",
    "добавил",
    "добавила",
    "добавили",
    "добавив",
    "сообщил",
    "сообщила",
    "сообщили",
    "сообщив",
    "пояснил",
    "пояснила",
    "пояснили",
    "заметил",
    "заметила",
    "написал",
    "написала",
    "написали",
    "уточнил",
    "уточнила",
    "уточнили",
    "предупредил",
    "предупредила",
    "предупредили",
    "указал",
    "указала",
    "указали",
    "ответил",
    "ответила",
    "ответили",
    "признал",
    "признала",
    "призвал",
    "призвала",
    "констатировал",
    "констатировала",
    "резюмировал",
    "резюмировала",
    "считает",
    "полагает",
    "убежден",
    "уверен",
    "настаивает",
    "подчеркивает",
    "отмечает",
    "напомнил",
    "напомнила",
    "напомнили",
    "заверил",
    "заверила",
    "пообещал",
    "пообещала",
    "высказался",
    "высказалась",
    "прокомментировал",
    "прокомментировала",
    "выступил",
    "выступила",
    "выступили",
    "виступив",
    "виступила",
    "виступили",
    "disagreed",
    "objected",
    "countered",
    "retorted",
    "agreed",
    "процитировал",
    "цитирует",
    "передает",
    // Ukrainian
    "заявляє",
    "каже",
    "кажуть",
    "говорить",
    "зазначив",
    "зазначила",
    "зазначили",
    "зазначає",
    "наголосив",
    "наголосила",
    "наголосили",
    "наголошує",
    "додав",
    "додала",
    "додали",
    "повідомив",
    "повідомила",
    "повідомили",
    "пояснив",
    "написав",
    "попередив",
    "попередила",
    "відповів",
    "відповіла",
    "підкреслив",
    "підкреслила",
    "підкреслили",
    "визнав",
    "визнала",
    "закликав",
    "закликала",
    "нагадав",
    "нагадала",
    "запевнив",
    "запевнила",
    "уточнив",
    "вважає",
    "переконаний",
    "прокоментував",
    "прокоментувала",
    "висловився",
    "висловилася",
];

/// Nouns and adjectives of office that make up a speaker phrase ("Kremlin spokesman", "пресс-
/// секретарь президента", "the Foreign Ministry"). Russian and Ukrainian entries are stems: a
/// word matches when it starts with one and adds at most four letters.
const ROLE_WORDS: &[&str] = &[
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "spokespeople",
    "minister",
    "ministers",
    "ministry",
    "president",
    "president's",
    "secretary",
    "press",
    "foreign",
    "office",
    "department",
    "official",
    "officials",
    "envoy",
    "ambassador",
    "chancellor",
    "prime",
    "premier",
    "deputy",
    "adviser",
    "advisor",
    "aide",
    "chief",
    "head",
    "representative",
    "leader",
    "general",
    "commander",
    "senator",
    "governor",
    "mayor",
    "staff",
    "diplomat",
    "diplomats",
    "negotiator",
    "chairman",
    "chairwoman",
    "chair",
    "service",
    "council",
    "commissioner",
    "commission",
    "presidential",
    "top",
    "senior",
    "special",
    "high",
    "vice",
    "defence",
    "defense",
    "state",
    "house",
    "government",
    "cabinet",
    "administration",
    "embassy",
    "mission",
    "member",
    "lawmaker",
    "counsellor",
    "counselor",
    "spokespersons",
    "speaker",
];

const ROLE_STEMS: &[&str] = &[
    "пресс-секретар",
    "прес-секретар",
    "пресс-служб",
    "прес-служб",
    "пресслужб",
    "министр",
    "міністр",
    "министерств",
    "міністерств",
    "президент",
    "представител",
    "представник",
    "глав",
    "голов",
    "посол",
    "посл",
    "спикер",
    "речни",
    "официальн",
    "офіційн",
    "помощник",
    "помічник",
    "советник",
    "радник",
    "канцлер",
    "премьер",
    "прем'єр",
    "лидер",
    "лідер",
    "генсек",
    "генеральн",
    "секретар",
    "замминистр",
    "заступник",
    "заместител",
    "ведомств",
    "відомств",
    "администраци",
    "адміністраці",
    "департамент",
    "штаб",
    "руководител",
    "керівник",
    "очільник",
    "дипломат",
    "правительств",
    "уряд",
    "кабмин",
    "кабмін",
    "посольств",
    "сенатор",
    "губернатор",
    "мэр",
    "мер",
    "депутат",
    "комисси",
    "коміс",
    "внешнеполитическ",
    "зовнішньополітичн",
    "дом",
    "дім",
    "сотрудник",
    "співробітник",
];

/// Words that put the speaker after them: "according to Peskov", "по словам Пескова".
/// Each marker is a sequence of folded words.
pub const ACCORDING_TO: &[&[&str]] = &[
    &["according", "to"],
    &["in", "the", "words", "of"],
    &["по", "словам"],
    &["за", "словами"],
    // `«…», — говорится в заявлении Еврокомиссии`: the document's author speaks.
    &["говорится", "в", "заявлении"],
    &["говорится", "в", "сообщении"],
    &["говорится", "в", "документе"],
    &["говорится", "в", "коммюнике"],
    &["йдеться", "в", "заяві"],
    &["йдеться", "у", "заяві"],
    &["йдеться", "в", "повідомленні"],
    &["йдеться", "у", "повідомленні"],
    &["йдеться", "в", "документі"],
    &["йдеться", "у", "документі"],
];

/// "по его словам", "according to him": a marker whose speaker is a pronoun.
pub const ACCORDING_TO_PRONOUN: &[&[&str]] = &[
    &["according", "to", "him"],
    &["according", "to", "her"],
    &["по", "его", "словам"],
    &["по", "ее", "словам"],
    &["по", "их", "словам"],
    &["за", "його", "словами"],
    &["за", "її", "словами"],
    &["за", "їхніми", "словами"],
];

/// Words before a quote that make it a label rather than someone's words: the so-called
/// "peace formula".
const SCARE_CUES: &[&str] = &[
    "so-called",
    "dubbed",
    "called",
    "calling",
    "calls",
    "termed",
    "labelled",
    "labeled",
    "branded",
    "nicknamed",
    "coined",
    "phrase",
    "term",
    "slogan",
    "word",
    "words",
    "titled",
    "entitled",
    "headlined",
    "operation",
    "plan",
    "formula",
    "initiative",
    "doctrine",
    "programme",
    "program",
    "т.н",
    "называемый",
    "называемая",
    "называемое",
    "называемые",
    "называемой",
    "называемую",
    "называемых",
    "называемого",
    "назвал",
    "назвала",
    "назвали",
    "назвав",
    "называет",
    "называют",
    "именуемый",
    "именуемая",
    "званий",
    "звана",
    "зване",
    "звані",
    "званої",
    "званого",
    "званих",
    "зву",
    "називає",
    "називають",
    "операция",
    "операція",
    "план",
    "формула",
    "формулу",
    "формулы",
    "формули",
    "инициатива",
    "ініціатива",
    "лозунг",
    "гасло",
    "слоган",
    "термин",
    "термін",
    "выражение",
    "вираз",
    "слово",
    "слова",
];

/// Words that stand before a noun: a quote right after one is a name or a label ("a 'gift to
/// the Kremlin'"), not an utterance.
const DETERMINERS: &[&str] = &[
    "a", "an", "the", "this", "these", "those", "his", "her", "its", "their", "our", "my", "your", "some",
    "any", "such", "another", "of", "as", "for", "about", "into", "from", "with", "by", "in", "on", "to",
    "at", "и", "і", "й", "та", "или", "або", "как", "як", "на", "в", "у", "о", "об", "про", "по", "для",
    "за", "из", "з", "із", "от", "від", "к", "до", "с", "со", "этот", "эта", "это", "цей", "ця", "це", "его",
    "її", "свой", "свою", "свій", "and", "or",
];

/// Personal pronouns that can stand for a speaker named earlier, with their gender.
const PRONOUNS: &[(&str, Gender)] = &[
    ("he", Gender::Male),
    ("she", Gender::Female),
    ("он", Gender::Male),
    ("она", Gender::Female),
    ("він", Gender::Male),
    ("вона", Gender::Female),
    ("him", Gender::Male),
    ("her", Gender::Female),
    ("его", Gender::Male),
    ("ее", Gender::Female),
    ("його", Gender::Male),
    ("її", Gender::Female),
];

/// Capitalised words that do not start a name: sentence adverbs, conjunctions, prepositions,
/// weekdays and months.
const NOT_NAMES: &[&str] = &[
    "however",
    "meanwhile",
    "although",
    "but",
    "and",
    "then",
    "later",
    "earlier",
    "on",
    "in",
    "at",
    "also",
    "still",
    "yet",
    "now",
    "separately",
    "asked",
    "when",
    "while",
    "after",
    "before",
    "speaking",
    "writing",
    "as",
    "if",
    "yesterday",
    "today",
    "tomorrow",
    "this",
    "that",
    "there",
    "it",
    "we",
    "i",
    "they",
    "you",
    "our",
    "his",
    "her",
    "their",
    "its",
    "last",
    "next",
    "so",
    "since",
    "because",
    "for",
    "from",
    "with",
    "without",
    "by",
    "to",
    "of",
    "a",
    "an",
    "what",
    "why",
    "how",
    "who",
    "where",
    "instead",
    "indeed",
    "finally",
    "first",
    "second",
    "third",
    "moreover",
    "furthermore",
    "nevertheless",
    "nonetheless",
    "thus",
    "hence",
    "such",
    "some",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "но",
    "а",
    "и",
    "однако",
    "позже",
    "также",
    "тем",
    "затем",
    "при",
    "в",
    "во",
    "у",
    "на",
    "с",
    "со",
    "к",
    "по",
    "о",
    "об",
    "как",
    "когда",
    "после",
    "до",
    "для",
    "из",
    "за",
    "от",
    "ранее",
    "сейчас",
    "теперь",
    "вчера",
    "сегодня",
    "кроме",
    "тогда",
    "впрочем",
    "между",
    "это",
    "этот",
    "мы",
    "вы",
    "они",
    "я",
    "але",
    "проте",
    "також",
    "згодом",
    "водночас",
    "тоді",
    "потім",
    "і",
    "й",
    "та",
    "з",
    "із",
    "від",
    "як",
    "коли",
    "після",
    "раніше",
    "зараз",
    "вчора",
    "сьогодні",
    "крім",
    "це",
    "ми",
    "ви",
    "вони",
    "понеділок",
    "вівторок",
    "середу",
    "четвер",
    "п'ятницю",
    "суботу",
    "неділю",
    "понедельник",
    "вторник",
    "среду",
    "четверг",
    "пятницу",
    "субботу",
    "воскресенье",
    "січня",
    "лютого",
    "березня",
    "квітня",
    "травня",
    "червня",
    "липня",
    "серпня",
    "вересня",
    "жовтня",
    "листопада",
    "грудня",
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
    "заявил",
    "заявила",
    "заявив",
    "сказал",
    "сказав",
    "словам",
    "словами",
    "according",
];

/// Words that may stand between a speaker and the speech verb: "Peskov has also said".
const BETWEEN_SPEAKER_AND_VERB: &[&str] = &[
    "has",
    "have",
    "had",
    "was",
    "is",
    "also",
    "later",
    "earlier",
    "again",
    "then",
    "previously",
    "repeatedly",
    "recently",
    "further",
    "once",
    "reportedly",
    "publicly",
    "officially",
    "only",
    "just",
    "never",
    "would",
    "will",
    "already",
    "too",
    "в",
    "также",
    "тоже",
    "ранее",
    "уже",
    "вновь",
    "снова",
    "позже",
    "затем",
    "тогда",
    "неоднократно",
    "прямо",
    "також",
    "раніше",
    "вже",
    "знову",
    "згодом",
    "потім",
    "тоді",
    "неодноразово",
    "і",
    "и",
    "публично",
    "публічно",
];

/// Words after a speech verb and before the speaker in inverted order: "said on Monday
/// Peskov" is rare, but "заявил журналистам Песков", "сказав в ефірі телемарафону Зеленський"
/// and "told reporters" are common.
const AFTER_VERB_FILLER: &[&str] = &[
    "reporters",
    "journalists",
    "the",
    "press",
    "media",
    "on",
    "in",
    "a",
    "an",
    "at",
    "to",
    "журналистам",
    "журналістам",
    "репортерам",
    "в",
    "у",
    "на",
    "во",
    "ході",
    "ходе",
    "время",
    "час",
    "интервью",
    "інтерв'ю",
    "эфире",
    "ефірі",
    "брифинге",
    "брифінгу",
    "также",
    "також",
    "ранее",
    "раніше",
    "вновь",
    "знову",
    "telegram",
    "телеграм",
    "телеграм-каналі",
    "соцсетях",
    "соцмережах",
    "заявлении",
    "заяві",
    "statement",
    "interview",
    "briefing",
    "conference",
    "television",
    "tv",
    "radio",
    "his",
    "her",
    "їй",
    "йому",
    "ему",
    "ей",
];

/// The genders a pronoun or a speech verb can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
}

fn contains(list: &[&str], folded: &str) -> bool {
    list.contains(&folded)
}

/// Past-tense stems of Russian speech verbs: a stem with `-л`, `-ла`, `-ли`, `-ло` (or the
/// gerund `-в`) is a verb form; nouns on the same root (*заявление*) are not.
const RUSSIAN_PAST_STEMS: &[&str] = &[
    "заяви",
    "сказа",
    "отмети",
    "подчеркну",
    "добави",
    "сообщи",
    "поясни",
    "замети",
    "написа",
    "уточни",
    "предупреди",
    "указа",
    "ответи",
    "призна",
    "призва",
    "напомни",
    "завери",
    "пообеща",
    "парирова",
    "возрази",
    "отреагирова",
    "настаива",
    "повтори",
    "прокомментирова",
    "констатирова",
    "резюмирова",
    "назва",
    "подтверди",
    "опроверга",
    "процитирова",
    "признава",
    "охарактеризова",
    "посетова",
    "пожалова",
    "вырази",
    "обрати",
    "обеща",
    "рассказа",
    "допусти",
    "уточня",
    "сообща",
    "говори",
];

/// Past-tense stems of Ukrainian speech verbs: a stem with `-в`, `-ла`, `-ли`, `-ло`.
const UKRAINIAN_PAST_STEMS: &[&str] = &[
    "заяви",
    "сказа",
    "зазначи",
    "наголоси",
    "дода",
    "повідоми",
    "поясни",
    "написа",
    "попереди",
    "відпові",
    "підкресли",
    "визна",
    "заклика",
    "нагада",
    "запевни",
    "уточни",
    "прокоментува",
    "відреагува",
    "наполяга",
    "парирува",
    "заперечи",
    "назва",
    "підтверди",
    "повтори",
    "процитува",
    "охарактеризува",
    "висловлю",
    "говори",
    "зауважи",
    "скаржи",
    "пообіця",
    "обіця",
    "поскаржи",
    "розпові",
];

pub fn is_speech_verb(folded: &str) -> bool {
    let past_form = |word: &str| {
        let of = |stems: &[&str], endings: &[&str]| {
            endings.iter().any(|end| word.strip_suffix(end).is_some_and(|stem| stems.contains(&stem)))
        };
        of(RUSSIAN_PAST_STEMS, &["л", "ла", "ли", "ло", "в"])
            || of(UKRAINIAN_PAST_STEMS, &["в", "ла", "ли", "ло"])
    };
    // Reflexive forms (высказался, поскаржилася) carry -ся / -сь after the ending.
    let unreflexive = folded.strip_suffix("ся").or_else(|| folded.strip_suffix("сь")).unwrap_or(folded);
    contains(SPEECH_VERBS, folded) || past_form(folded) || past_form(unreflexive)
}

/// The grammatical gender a Russian or Ukrainian speech verb shows: past tense "-ла" is
/// feminine; "-л" and Ukrainian "-в" masculine.
pub fn verb_gender(folded: &str) -> Option<Gender> {
    if !folded.chars().next().is_some_and(is_cyrillic) || !is_speech_verb(folded) {
        return None;
    }
    if folded.ends_with("ла") || folded.ends_with("лась") || folded.ends_with("лася") {
        Some(Gender::Female)
    } else if folded.ends_with('л') || folded.ends_with("лся") || folded.ends_with('в') {
        Some(Gender::Male)
    } else {
        None
    }
}

pub fn is_role_word(folded: &str) -> bool {
    if contains(ROLE_WORDS, folded) {
        return true;
    }
    ROLE_STEMS
        .iter()
        .any(|stem| folded.starts_with(stem) && folded.chars().count() - stem.chars().count() <= 4)
}

pub fn is_scare_cue(folded: &str) -> bool {
    contains(SCARE_CUES, folded)
}

pub fn is_determiner(folded: &str) -> bool {
    contains(DETERMINERS, folded)
}

pub fn pronoun_gender(folded: &str) -> Option<Gender> {
    PRONOUNS.iter().find(|(word, _)| *word == folded).map(|(_, gender)| *gender)
}

/// Subject pronouns only: "he said", "сказав він" (not "him", "его").
pub fn is_subject_pronoun(folded: &str) -> bool {
    matches!(folded, "he" | "she" | "он" | "она" | "він" | "вона")
}

pub fn is_not_name(folded: &str) -> bool {
    contains(NOT_NAMES, folded)
}

pub fn may_stand_before_verb(folded: &str) -> bool {
    contains(BETWEEN_SPEAKER_AND_VERB, folded) || folded.ends_with("ly")
}

pub fn may_follow_verb(folded: &str) -> bool {
    contains(AFTER_VERB_FILLER, folded)
}

/// Words that join the parts of a name or title: "Minister of Foreign Affairs", "Ursula von
/// der Leyen".
pub fn is_name_connector(folded: &str) -> bool {
    matches!(folded, "of" | "for" | "the" | "and" | "и" | "і" | "та") || is_name_particle(folded)
}

/// Lower-case particles inside surnames: "Ursula von der Leyen", "фон дер Ляйен".
pub fn is_name_particle(folded: &str) -> bool {
    matches!(folded, "von" | "der" | "de" | "van" | "al" | "bin" | "фон" | "дер" | "ван")
}

pub fn is_cyrillic(c: char) -> bool {
    matches!(c as u32, 0x0400..=0x04FF | 0x0500..=0x052F)
}

/// The gender of a Russian or Ukrainian surname in Latin transliteration (Zakharova, Peskov,
/// Stefanishyna). Only Latin spellings: in Cyrillic "Пескова" is as often Peskov's genitive as
/// a woman's name, so there the verb's ending decides instead.
pub fn name_gender(folded_last_word: &str) -> Option<Gender> {
    const FEMININE: &[&str] = &["ova", "eva", "ina", "yna", "skaya", "ska"];
    const MASCULINE: &[&str] = &["ov", "ev", "in", "yn", "sky", "skyy", "skiy"];
    if FEMININE.iter().any(|end| folded_last_word.ends_with(end)) {
        Some(Gender::Female)
    } else if MASCULINE.iter().any(|end| folded_last_word.ends_with(end)) {
        Some(Gender::Male)
    } else {
        None
    }
}

/// Given names common in the coverage of these actors, with their gender: a speaker introduced
/// as "Karoline Leavitt" or "Тэмми Брюс" is known to be "she" later on.
const GIVEN_NAMES: &[(&str, Gender)] = &[
    ("dmitry", Gender::Male),
    ("dmitri", Gender::Male),
    ("dmytro", Gender::Male),
    ("sergei", Gender::Male),
    ("sergey", Gender::Male),
    ("serhiy", Gender::Male),
    ("yuri", Gender::Male),
    ("vladimir", Gender::Male),
    ("volodymyr", Gender::Male),
    ("andriy", Gender::Male),
    ("andrii", Gender::Male),
    ("andrei", Gender::Male),
    ("andrey", Gender::Male),
    ("oleksandr", Gender::Male),
    ("alexander", Gender::Male),
    ("mykola", Gender::Male),
    ("nikolai", Gender::Male),
    ("ivan", Gender::Male),
    ("oleg", Gender::Male),
    ("oleh", Gender::Male),
    ("pavel", Gender::Male),
    ("pavlo", Gender::Male),
    ("viktor", Gender::Male),
    ("ihor", Gender::Male),
    ("igor", Gender::Male),
    ("heorhii", Gender::Male),
    ("georgy", Gender::Male),
    ("marco", Gender::Male),
    ("mark", Gender::Male),
    ("donald", Gender::Male),
    ("john", Gender::Male),
    ("david", Gender::Male),
    ("michael", Gender::Male),
    ("keir", Gender::Male),
    ("emmanuel", Gender::Male),
    ("friedrich", Gender::Male),
    ("olaf", Gender::Male),
    ("antonio", Gender::Male),
    ("steve", Gender::Male),
    ("keith", Gender::Male),
    ("maria", Gender::Female),
    ("mariya", Gender::Female),
    ("ursula", Gender::Female),
    ("kaja", Gender::Female),
    ("karoline", Gender::Female),
    ("tammy", Gender::Female),
    ("olena", Gender::Female),
    ("elena", Gender::Female),
    ("yulia", Gender::Female),
    ("iryna", Gender::Female),
    ("irina", Gender::Female),
    ("olha", Gender::Female),
    ("olga", Gender::Female),
    ("kamala", Gender::Female),
    ("giorgia", Gender::Female),
    ("annalena", Gender::Female),
    ("marta", Gender::Female),
    ("natalia", Gender::Female),
    ("anna", Gender::Female),
    ("hanna", Gender::Female),
    ("дмитрий", Gender::Male),
    ("дмитро", Gender::Male),
    ("сергей", Gender::Male),
    ("сергій", Gender::Male),
    ("юрий", Gender::Male),
    ("юрій", Gender::Male),
    ("владимир", Gender::Male),
    ("володимир", Gender::Male),
    ("андрей", Gender::Male),
    ("андрій", Gender::Male),
    ("александр", Gender::Male),
    ("олександр", Gender::Male),
    ("николай", Gender::Male),
    ("микола", Gender::Male),
    ("иван", Gender::Male),
    ("іван", Gender::Male),
    ("олег", Gender::Male),
    ("павел", Gender::Male),
    ("павло", Gender::Male),
    ("игорь", Gender::Male),
    ("ігор", Gender::Male),
    ("георгий", Gender::Male),
    ("георгій", Gender::Male),
    ("марко", Gender::Male),
    ("марк", Gender::Male),
    ("дональд", Gender::Male),
    ("мария", Gender::Female),
    ("марія", Gender::Female),
    ("урсула", Gender::Female),
    ("кая", Gender::Female),
    ("каролин", Gender::Female),
    ("каролін", Gender::Female),
    ("тэмми", Gender::Female),
    ("теммі", Gender::Female),
    ("елена", Gender::Female),
    ("олена", Gender::Female),
    ("юлия", Gender::Female),
    ("юлія", Gender::Female),
    ("ирина", Gender::Female),
    ("ірина", Gender::Female),
    ("ольга", Gender::Female),
    ("марта", Gender::Female),
    ("анна", Gender::Female),
    ("ганна", Gender::Female),
];

pub fn given_name_gender(folded: &str) -> Option<Gender> {
    GIVEN_NAMES.iter().find(|(name, _)| *name == folded).map(|(_, gender)| *gender)
}

/// An indefinite speaker ("a diplomat", "one official", "один из дипломатов") is someone new,
/// never a person named before.
pub fn is_indefinite(folded: &str) -> bool {
    matches!(
        folded,
        "a" | "an"
            | "one"
            | "another"
            | "some"
            | "один"
            | "одна"
            | "одно"
            | "одного"
            | "одні"
            | "некий"
            | "якийсь"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_handles_case_yo_apostrophes_and_combining_marks() {
        assert_eq!(fold("Пётр"), "петр");
        assert_eq!(fold("Kremlin’s"), "kremlin's");
        assert_eq!(fold("Zelenske\u{301}"), "zelenske");
    }

    #[test]
    fn speech_verbs_in_three_languages() {
        for verb in ["said", "told", "заявил", "подчеркнула", "зазначив", "наголосила", "каже"]
        {
            assert!(is_speech_verb(verb), "{verb}");
        }
        assert!(!is_speech_verb("заявление"));
        assert!(!is_speech_verb("meeting"));
    }

    #[test]
    fn russian_and_ukrainian_past_forms_come_from_stems_not_nouns() {
        for verb in
            ["парировал", "отреагировала", "розповів", "розповіла", "відреагував", "наполягала", "высказался"]
        {
            assert!(is_speech_verb(verb), "{verb}");
        }
        for noun in ["заявление", "заява", "сказка", "розповідь"] {
            assert!(!is_speech_verb(noun), "{noun}");
        }
        assert_eq!(verb_gender("відповів"), Some(Gender::Male));
        assert_eq!(verb_gender("розповіла"), Some(Gender::Female));
    }

    #[test]
    fn given_names_and_indefinites() {
        assert_eq!(given_name_gender("karoline"), Some(Gender::Female));
        assert_eq!(given_name_gender("теммі"), Some(Gender::Female));
        assert_eq!(given_name_gender("marco"), Some(Gender::Male));
        assert!(is_indefinite("one") && is_indefinite("один") && !is_indefinite("the"));
    }

    #[test]
    fn russian_and_ukrainian_verbs_show_gender() {
        assert_eq!(verb_gender("заявила"), Some(Gender::Female));
        assert_eq!(verb_gender("заявил"), Some(Gender::Male));
        assert_eq!(verb_gender("зазначив"), Some(Gender::Male));
        assert_eq!(verb_gender("said"), None);
    }

    #[test]
    fn inflected_role_words_match_their_stems() {
        assert!(is_role_word("президента"));
        assert!(is_role_word("пресс-секретарь"));
        assert!(is_role_word("spokesman"));
        assert!(!is_role_word("президентские-выборы-2025"));
    }

    #[test]
    fn feminine_surnames_are_recognised() {
        assert_eq!(name_gender("zakharova"), Some(Gender::Female));
        assert_eq!(name_gender("пескова"), None);
        assert_eq!(name_gender("peskov"), Some(Gender::Male));
        assert_eq!(name_gender("leavitt"), None);
    }
}
