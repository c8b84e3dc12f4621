#!/usr/bin/env python3
"""Writes the illustrative demo corpus `statements.csv` and its known truth `intended_stance.csv`.

Every statement below is illustrative text written for the `stance` project. None of it is a
real quote, and no words are attributed to named persons. See README.md for the storyline each
actor follows (the known truth a researcher should recover with `stance trend` / `stance shift`).

Usage (plain Python 3, standard library only):

    python3 corpus/make_corpus.py          # (re)write both CSV files next to this script
    python3 corpus/make_corpus.py --check  # verify the committed files match this script
    python3 corpus/make_corpus.py --summary  # print counts and intended monthly means (markdown)

The output is deterministic: rows are ordered by date, then actor, then position in this file,
and ids (`demo-0001`, ...) are assigned in that order.
"""

import argparse
import csv
import datetime
import io
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATEMENTS_CSV = HERE / "statements.csv"
TRUTH_CSV = HERE / "intended_stance.csv"

COLUMNS = ["id", "actor", "date", "text", "source", "lang"]
TRUTH_COLUMNS = ["id", "target", "stance"]

# Actor names used consistently throughout; the order also breaks ties between same-day rows.
ACTORS = [
    "Kremlin",
    "Russian MFA",
    "White House",
    "US State Department",
    "Ukrainian President's Office",
    "Ukrainian MFA",
    "European Commission",
    "EU High Representative",
]

# Target codes used in the truth annotations below ("P+ S- T0"); a target left out is "none".
TARGETS = {
    "P": "peace negotiations",
    "S": "sanctions on Russia",
    "T": "a trilateral meeting",
}
STANCES = {"+": "favor", "-": "against", "0": "none"}

K = "Kremlin"
RM = "Russian MFA"
WH = "White House"
SD = "US State Department"
UP = "Ukrainian President's Office"
UM = "Ukrainian MFA"
EC = "European Commission"
HR = "EU High Representative"

# The one long statement (> 400 words): exercises --long truncate|window.
HR_LONG_REMARKS = """Good afternoon. Today's Foreign Affairs Council focused first and foremost on \
Ukraine, and I want to start there. Ministers were joined by the Foreign Minister of Ukraine, who \
briefed us on the situation on the ground after another week of massive drone and missile attacks on \
energy infrastructure, just as the heating season begins. These attacks are not the behaviour of a \
country that wants peace. They are a deliberate campaign to break the will of Ukrainians before winter.

On sanctions, ministers agreed that the pressure on Russia must keep rising. We are finalising the \
next sanctions package, which will, for the first time, ban imports of Russian liquefied natural gas \
and target more vessels of the shadow fleet, as well as banks and traders in third countries that help \
Russia circumvent our measures. Some ask whether sanctions work. The answer is yes: Russia's oil \
revenues are falling, its budget deficit is growing, and its central bank is struggling with \
inflation. This is precisely the moment to increase the pressure, not to ease it. Let me be very \
clear: there will be no lifting of European sanctions as long as Russia continues its aggression and \
until there is a just and lasting peace.

On the diplomatic track, the European Union supports every genuine effort to end this war, and we \
appreciate the engagement of the United States. We want negotiations to succeed. But negotiations must \
start with a full and unconditional ceasefire, and they must involve Ukraine and Europe, because \
European security is at stake. Nothing about Ukraine without Ukraine, and nothing about European \
security without Europe.

I have been asked many times about the idea of a trilateral meeting of the leaders of the United \
States, Russia and Ukraine. My view has not changed. A summit is not a goal in itself. Without a \
ceasefire and without serious preparation, such a meeting risks giving Moscow a platform while the \
bombs keep falling. Russia has used every previous round of contacts to buy time and to present \
maximalist demands. We should not reward this with the symbolism of a summit.

Ministers also discussed our support for Ukraine's defence, including the use of immobilised Russian \
assets to finance a reparations loan. Work continues on the legal aspects, and I expect progress at \
the European Council later this week. In addition, we agreed to continue training Ukrainian soldiers \
and to speed up deliveries of air defence and ammunition.

Finally, we discussed the situation in the Middle East and the implementation of the ceasefire in \
Gaza, as well as our relations with the countries of the Western Balkans, where the enlargement \
process is gaining new momentum. I will be happy to take your questions."""

# The one statement with a line break inside a quoted field (plus commas and embedded quotes).
KREMLIN_QA = (
    'Asked by reporters whether a trilateral meeting was being prepared, the spokesperson answered: '
    '"No, not yet, and it is premature to talk about it."\n'
    'Asked about negotiations in general, the spokesperson said: '
    '"We are always open to them, as the President has said many times."'
)

# (date, actor, source, lang, truth, text). Truth: intended stance per target, e.g. "P+ S-".
STATEMENTS = [
    # ------------------------------------------------------------------ Kremlin
    ("2025-03-04", K, "press briefing", "en", "P-",
     "There is currently no basis for peace negotiations with Kyiv. The Kyiv regime has shown that "
     "it is not capable of negotiating in good faith."),
    ("2025-03-13", K, "press briefing", "en", "S-",
     "Western sanctions are illegal, and they have not achieved their aims. The Russian economy has "
     "adapted, and we will continue to develop regardless of any restrictions."),
    ("2025-03-26", K, "press briefing", "en", "",
     "The President's schedule this week includes a meeting of the Security Council and a working trip "
     "to the Far East. There is nothing to add about foreign contacts at this stage."),
    ("2025-04-03", K, "press briefing", "en", "P-",
     "Talk of a ceasefire and negotiations is premature. The special military operation continues, and "
     "its goals will be achieved."),
    ("2025-04-15", K, "press briefing", "ru", "P-",
     "Мы не видим смысла в переговорах, пока Киев и его западные кураторы не признают реальность на "
     "земле. Разговоры о «мирном процессе» сейчас — это пиар."),
    ("2025-04-24", K, "remarks to reporters", "en", "S-",
     "Any new sanctions would only confirm that Europe has chosen confrontation. We are used to living "
     "under restrictions; they hurt those who impose them more than they hurt Russia."),
    ("2025-05-06", K, "press briefing", "en", "",
     "The Kremlin congratulates all veterans on Victory Day. Foreign delegations attending the "
     "commemorations will be received in Moscow this week."),
    ("2025-05-14", K, "press briefing", "en", "P-",
     "Contacts at the technical level do not amount to peace negotiations. We do not see a serious "
     "partner in Kyiv, and there is no point in talks for the sake of talks."),
    ("2025-05-27", K, "press briefing", "en", "S-",
     "The new European package of restrictions is another illegitimate step. We are not asking anyone "
     "for relief; the economy has adapted before and will adapt again."),
    ("2025-06-05", K, "press briefing", "en", "T-",
     "Washington has spoken about a leaders' meeting of Russia, Ukraine and the United States. Such a "
     "meeting is not on the agenda. It would have to be prepared very thoroughly, and we see no "
     "conditions for it today."),
    ("2025-06-17", K, "press briefing", "en", "P-",
     "The conditions for serious negotiations do not exist. Kyiv is being pumped full of weapons, and "
     "under these circumstances any talk of a peace process is a smokescreen."),
    ("2025-06-26", K, "press briefing", "en", "",
     "The spokesperson declined to comment on reports about grain shipments and referred questions to "
     "the relevant ministries."),
    ("2025-07-03", K, "interview with state television", "en", "T-",
     "A summit of three leaders is out of the question at this stage. There is simply nothing for the "
     "leaders to sign."),
    ("2025-07-16", K, "press briefing", "en", "P- S-",
     "We are not going to negotiate under threats of sanctions or under ultimatums. Sanctions pressure "
     "is counterproductive and will not change our position."),
    ("2025-07-29", K, "press briefing", "ru", "P-",
     "Никакой основы для переговоров пока нет. Позиция Киева остаётся неконструктивной, поэтому "
     "говорить о скором мире преждевременно."),
    ("2025-08-05", K, "press briefing", "en", "P+",
     "Russia is always open to peace negotiations. We have said many times that we prefer to achieve "
     "our goals through political and diplomatic means."),
    ("2025-08-14", K, "press briefing", "en", "P+",
     "The President is ready to continue the dialogue with the American side. Russia remains open to a "
     "negotiated settlement that addresses the root causes of the conflict."),
    ("2025-08-21", K, "remarks to reporters", "en", "P+ T-", KREMLIN_QA),
    ("2025-08-26", K, "press briefing", "en", "T-",
     "As for a trilateral meeting, any contact at the top level must be prepared step by step, by "
     "experts. It is premature to talk about dates."),
    ("2025-09-04", K, "press briefing", "en", "P+",
     "We remain open to negotiations and are ready for a new round of talks in Istanbul or elsewhere. "
     "The ball is in Kyiv's court."),
    ("2025-09-16", K, "press briefing", "ru", "P+",
     "Россия всегда открыта для мирных переговоров. Мы готовы продолжать диалог, но он должен учитывать "
     "интересы безопасности нашей страны."),
    ("2025-09-25", K, "press briefing", "en", "S-",
     "Sanctions have never worked against Russia and will not work now. They are an obstacle to normal "
     "relations and should be lifted as part of any serious settlement."),
    ("2025-10-02", K, "press briefing", "en", "P+",
     "Moscow values Washington's efforts to find a settlement. We are ready to continue negotiations at "
     "the working level and to move forward step by step."),
    ("2025-10-15", K, "press briefing", "en", "T-",
     "We do not rule out a meeting of leaders at some point, but a trilateral summit cannot be an end "
     "in itself. The groundwork for it has not been done."),
    ("2025-10-28", K, "press briefing", "en", "S-",
     "The new American restrictions on Russian energy companies are an unfriendly act and will not help "
     "the process. We will take measures to minimise the damage."),
    ("2025-11-06", K, "press briefing", "en", "P+",
     "Russia remains committed to a peaceful settlement and is open to negotiations. We are studying the "
     "latest proposals passed to us through diplomatic channels."),
    ("2025-11-18", K, "press briefing", "en", "",
     "The spokesperson congratulated the national team on its victory and said the President would hold "
     "a meeting on the development of the Arctic zone this week."),
    ("2025-11-27", K, "press briefing", "en", "P+ S-",
     "Dialogue is preferable to confrontation. We are ready to negotiate, and we expect our partners to "
     "show the same readiness instead of announcing new sanctions."),
    # -------------------------------------------------------------- Russian MFA
    ("2025-03-06", RM, "weekly briefing", "en", "P-",
     "The so-called peace initiatives of the West are a cover for rearming Kyiv. We see no partner for "
     "negotiations on the Ukrainian side."),
    ("2025-03-20", RM, "ministry statement", "en", "S-",
     "The Ministry strongly condemns the extension of unilateral restrictive measures by the European "
     "Union. These illegitimate sanctions violate international law and harm ordinary Europeans."),
    ("2025-04-09", RM, "weekly briefing", "en", "",
     "The Ministry took note of the consultations on the work of diplomatic missions. Embassy staffing "
     "and the resumption of direct flights remain on the agenda of bilateral contacts with Washington."),
    ("2025-04-23", RM, "weekly briefing", "en", "P-",
     "Negotiations are impossible while Kyiv's legal ban on talks with Moscow remains in force. Under "
     "these conditions, the Western narrative about a 'peace process' is empty."),
    ("2025-05-08", RM, "ministry statement", "ru", "S-",
     "Новый пакет антироссийских санкций Евросоюза является незаконным и будет иметь обратный эффект. "
     "Брюссель в очередной раз наказывает собственных граждан."),
    ("2025-05-22", RM, "weekly briefing", "en", "P-",
     "The European side uses talk of a ceasefire to buy time for Kyiv. Russia will not fall for this "
     "again, and we see no reason to sit down at the table on such terms."),
    ("2025-06-04", RM, "ministry statement", "en", "",
     "The Ministry expresses its deep condolences to the families of the victims of the floods in South "
     "Asia and stands ready to provide humanitarian assistance."),
    ("2025-06-18", RM, "commentary", "en", "S-",
     "Restrictions against Russian banks are a form of economic aggression. No normalisation of "
     "relations is possible without their removal."),
    ("2025-06-30", RM, "weekly briefing", "en", "P-",
     "There is nothing to negotiate with those who refuse to recognise the new territorial realities. "
     "All this talk about peace talks is Western propaganda."),
    ("2025-07-10", RM, "weekly briefing", "en", "T-",
     "The idea of a trilateral summit is being promoted for public relations purposes. Serious issues "
     "are not solved in front of television cameras."),
    ("2025-07-24", RM, "ministry statement", "ru", "S-",
     "Очередной пакет санкций — ещё одно свидетельство бессилия Брюсселя. Ответные меры будут приняты, "
     "и они будут болезненными для европейской экономики."),
    ("2025-08-07", RM, "weekly briefing", "en", "",
     "Russian diplomats will take part in the regional security forum next week. The agenda includes "
     "counterterrorism cooperation and the situation in Afghanistan."),
    ("2025-08-20", RM, "weekly briefing", "en", "P-",
     "The Ministry sees no grounds yet for a formal negotiation process. Statements by Kyiv's sponsors "
     "about peace are contradicted by new arms deliveries."),
    ("2025-08-28", RM, "commentary", "en", "T-",
     "Any leaders' meeting with Kyiv's participation requires prior agreement on the key issues. There "
     "are no such agreements today, so the question of a trilateral summit is purely hypothetical."),
    ("2025-09-10", RM, "weekly briefing", "en", "P+",
     "Russia is ready for negotiations on a comprehensive settlement that eliminates the root causes of "
     "the conflict. We have conveyed this to our American colleagues."),
    ("2025-09-24", RM, "commentary", "en", "S-",
     "Sanctions pressure will not work. The lifting of illegal restrictions must be part of any future "
     "settlement."),
    ("2025-10-08", RM, "weekly briefing", "ru", "P+",
     "Мы открыты для переговоров и готовы к работе над документом о мирном урегулировании. Но любое "
     "соглашение должно учитывать реалии на земле."),
    ("2025-10-22", RM, "ministry statement", "en", "S-",
     "The Ministry condemns the new US restrictions on Russian oil companies as an unfriendly step that "
     "undermines the positive dynamic of the dialogue."),
    ("2025-11-05", RM, "weekly briefing", "en", "P+",
     "Russia supports the continuation of negotiations, including in an expanded format with the "
     "participation of the United States, provided that our legitimate security interests are "
     "respected."),
    ("2025-11-19", RM, "ministry statement", "en", "",
     "The Ministry hosted the annual consultations with the Chinese side on consular issues. The parties "
     "confirmed their shared approach to visa facilitation."),
    ("2025-11-26", RM, "weekly briefing", "en", "P+ T-",
     "We are ready to continue on the negotiation track. Talk of a trilateral summit, however, remains "
     "premature until a final document has been agreed by the experts."),
    # -------------------------------------------------------------- White House
    ("2025-03-05", WH, "press briefing", "en", "P+",
     "The President wants this war to end, and both sides must come to the table. Peace negotiations "
     "are the only way forward."),
    ("2025-03-18", WH, "statement", "en", "P+ S+",
     "The United States will not hesitate to impose additional sanctions on Russia if Moscow refuses to "
     "engage seriously in negotiations. All options remain on the table."),
    ("2025-03-27", WH, "readout", "en", "",
     "The President spoke today with the Prime Minister of Japan. The leaders discussed trade, "
     "semiconductor supply chains and regional security."),
    ("2025-04-08", WH, "press briefing", "en", "P+",
     "We are encouraged by the technical talks this week. The United States remains committed to "
     "facilitating direct negotiations between Russia and Ukraine."),
    ("2025-04-17", WH, "press briefing", "en", "S+",
     "Sanctions pressure on Russia will stay in place, and we are prepared to tighten it. Moscow needs "
     "to understand that delay has a cost."),
    ("2025-04-29", WH, "press briefing", "en", "",
     "The press secretary announced the President's travel schedule for next week, including a visit "
     "to the Gulf region focused on investment and energy."),
    ("2025-05-07", WH, "press briefing", "en", "P+ S+",
     "The President is ready to impose tough sanctions on Russian banks and energy if the killing does "
     "not stop. We want a deal, and we want it soon."),
    ("2025-05-20", WH, "readout", "en", "P+",
     "The President held a long call with the President of Russia and then with the President of "
     "Ukraine. Both sides agreed to continue negotiations, and the United States will keep working to "
     "bring them together."),
    ("2025-05-29", WH, "statement", "en", "",
     "The White House welcomes the Senate's progress on permitting reform, which will speed up the "
     "construction of roads, bridges and power lines."),
    ("2025-06-03", WH, "press briefing", "en", "P+ T+",
     "The President believes the fastest way to peace is to get the leaders of Russia, Ukraine and the "
     "United States in one room. We are pushing for a trilateral meeting as soon as possible."),
    ("2025-06-12", WH, "press briefing", "en", "P+ S-",
     "New sanctions right now would not be helpful. We are in a delicate phase, and the President does "
     "not want to jeopardise the talks."),
    ("2025-06-24", WH, "press briefing", "en", "T+",
     "A trilateral meeting of the three leaders is the goal. Staff-level work is under way, and we "
     "think it can happen this summer."),
    ("2025-07-08", WH, "press briefing", "en", "P+",
     "The President has not decided on further sanctions. He prefers to give diplomacy a chance, and "
     "sanctions are one tool among many."),
    ("2025-07-17", WH, "remarks to the press pool", "en", "S-",
     "If there is a deal, some sanctions relief could be part of it. Russia has a great economic future "
     "if this war ends."),
    ("2025-07-30", WH, "statement", "en", "T+",
     "The President remains committed to a trilateral meeting with the leaders of Russia and Ukraine. "
     "Once they sit down together, we believe a deal can be made."),
    ("2025-08-06", WH, "readout", "en", "T+",
     "The President met with the national security team today to discuss next steps toward a "
     "trilateral leaders' meeting. The United States is ready to host it."),
    ("2025-08-15", WH, "press briefing", "en", "P+ S-",
     "We had productive talks. There is no point in new sanctions while negotiations are making "
     "progress, and the President has put them on hold for now."),
    ("2025-08-27", WH, "press briefing", "en", "",
     "The press secretary said the administration would announce new measures on prescription drug "
     "pricing later this week."),
    ("2025-09-09", WH, "press briefing", "en", "S+",
     "The President's patience is running out. Treasury is preparing sanctions on Russia's largest oil "
     "companies, and we expect our European partners to do the same."),
    ("2025-09-18", WH, "press briefing", "en", "T+",
     "The President continues to believe that a trilateral meeting is the way to close a deal, and he is "
     "ready to meet both leaders together."),
    ("2025-09-30", WH, "statement", "en", "P+ S+",
     "We will keep pushing for negotiations. The war must end, and the United States will use every "
     "tool, including economic pressure, to get both sides to agree."),
    ("2025-10-07", WH, "statement", "en", "P+ S+",
     "Today the United States imposed sanctions on two major Russian oil companies. These sanctions will "
     "remain until Moscow commits to a serious peace process."),
    ("2025-10-16", WH, "readout", "en", "T+",
     "The President spoke with European leaders about the path to a trilateral summit. He is determined "
     "to bring the leaders of Russia and Ukraine together with him."),
    ("2025-10-29", WH, "statement", "en", "",
     "The President will attend the regional economic leaders' meeting in Asia, where he will focus on "
     "trade, investment and supply chains."),
    ("2025-11-04", WH, "press briefing", "en", "P+ T+",
     "A peace framework is on the table. The President wants both sides to sign on, and he is ready to "
     "host a trilateral meeting to finalise it."),
    ("2025-11-13", WH, "press briefing", "en", "S+",
     "Sanctions on Russia will stay, and they will be enforced until there is a deal. We are not easing "
     "anything."),
    ("2025-11-25", WH, "statement", "en", "P+",
     "We are very close to an agreement. The negotiators have narrowed the remaining issues, and the "
     "President is optimistic about the talks."),
    # ------------------------------------------------------ US State Department
    ("2025-03-07", SD, "department press briefing", "en", "S+",
     "The Department continues to enforce existing sanctions on Russia. Today we designated a network of "
     "shell companies that helped Moscow evade export controls."),
    ("2025-03-21", SD, "readout", "en", "P+",
     "The Secretary met with the Foreign Minister of Ukraine. They discussed the path to a just and "
     "durable peace and the importance of direct negotiations."),
    ("2025-03-31", SD, "press statement", "en", "",
     "The Department has issued updated travel advisories for several countries in West Africa. U.S. "
     "citizens should review the guidance before travelling."),
    ("2025-04-11", SD, "department press briefing", "en", "P+",
     "The United States supports a negotiated end to the war. We urge Russia to accept the proposal for "
     "a 30-day ceasefire and to engage in talks."),
    ("2025-04-25", SD, "department press briefing", "en", "P+ S+",
     "Sanctions will remain an important tool to ensure that Russia negotiates in good faith."),
    ("2025-05-09", SD, "readout", "en", "",
     "The Secretary hosted the strategic dialogue with India, covering trade, critical technologies and "
     "maritime security."),
    ("2025-05-23", SD, "press statement", "en", "S+",
     "Today's designations target third-country entities supplying Russia's military-industrial base. "
     "We will continue to hold accountable those who fuel this war."),
    ("2025-06-06", SD, "department press briefing", "en", "P+ T+",
     "The Department is working on preparations for a possible trilateral meeting of leaders. Such a "
     "meeting would be an important step toward peace."),
    ("2025-06-20", SD, "department press briefing", "en", "P+",
     "We are committed to supporting direct negotiations between the parties. The Secretary spoke with "
     "counterparts in Kyiv and Moscow this week."),
    ("2025-07-09", SD, "department press briefing", "en", "P+ S-",
     "Sanctions relief could be part of a comprehensive settlement once Russia takes concrete steps "
     "toward peace. Nothing is agreed until everything is agreed."),
    ("2025-07-22", SD, "department press briefing", "en", "S-",
     "The spokesperson said the United States is not considering new sanctions at this time, as "
     "negotiators focus on the framework for talks."),
    ("2025-07-31", SD, "press statement", "en", "T+",
     "Consultations on the arrangements for a trilateral leaders' meeting are continuing. We believe "
     "such a meeting is achievable."),
    ("2025-08-08", SD, "department press briefing", "en", "P+ S-",
     "The Department is reviewing which measures could be adjusted if a peace agreement is reached. We "
     "want to give diplomacy room to work."),
    ("2025-08-19", SD, "readout", "en", "P+ T+",
     "The Secretary welcomed the resumption of negotiations and said the United States is prepared to "
     "facilitate a trilateral meeting at a mutually agreed location."),
    ("2025-08-29", SD, "press statement", "en", "",
     "The Department announced new funding for wildfire response cooperation with Canada and thanked "
     "the firefighters deployed from both countries."),
    ("2025-09-11", SD, "department press briefing", "en", "S+",
     "The United States is coordinating with the European Union and G7 partners on further sanctions "
     "targeting Russia's energy revenues."),
    ("2025-09-25", SD, "department press briefing", "en", "P+ T+",
     "We continue to support negotiations and a leaders' meeting to conclude them. Russia must show that "
     "it is serious."),
    ("2025-10-09", SD, "press statement", "en", "S+",
     "The sanctions announced today will deprive the Kremlin of revenue it uses to finance the war. "
     "Foreign banks that facilitate these transactions risk secondary sanctions."),
    ("2025-10-23", SD, "readout", "en", "P+",
     "The Secretary met with the Ukrainian delegation in Washington to discuss the draft peace "
     "framework. Talks will continue next week."),
    ("2025-11-07", SD, "press statement", "en", "S+",
     "The Department has designated additional vessels of Russia's shadow fleet. Sanctions will remain "
     "in force and will be strengthened if needed."),
    ("2025-11-20", SD, "department press briefing", "en", "P+ T+",
     "We are working closely with both delegations to finalise the text, and we support a trilateral "
     "meeting of leaders to sign it."),
    ("2025-11-28", SD, "press statement", "en", "",
     "The Department extends its Thanksgiving greetings and reminds travellers to allow extra time for "
     "passport processing during the holiday period."),
    # --------------------------------------------- Ukrainian President's Office
    ("2025-03-04", UP, "evening address", "en", "P+",
     "Ukraine is ready for peace negotiations, but not for capitulation. Any talks must bring a just and "
     "lasting peace backed by security guarantees."),
    ("2025-03-17", UP, "statement", "en", "S+",
     "We thank our partners for keeping sanctions on Russia and urge them to go further: the Russian "
     "shadow fleet and Russian banks must be hit harder."),
    ("2025-03-28", UP, "readout", "en", "",
     "The President held a meeting with the heads of regional administrations on the end of the heating "
     "season and the restoration of energy infrastructure."),
    ("2025-04-07", UP, "evening address", "en", "P+",
     "Ukraine has accepted the proposal for a full ceasefire in the air and at sea. Now it is Russia's "
     "turn to show that it wants negotiations."),
    ("2025-04-21", UP, "Telegram channel", "uk", "S+",
     "Санкції мають діяти, доки Росія не припинить війну. Ми закликаємо партнерів посилити тиск на "
     "російські банки та енергетику."),
    ("2025-04-30", UP, "statement", "en", "",
     "Another 150 Ukrainian defenders have returned home under the latest prisoner exchange. Work on "
     "humanitarian issues continues every day."),
    ("2025-05-09", UP, "evening address", "en", "P+",
     "Ukraine is ready for direct talks at any level. We have sent our delegation, and we expect Russia "
     "to send people with a mandate to decide."),
    ("2025-05-19", UP, "statement", "en", "S+",
     "Russia understands only pressure. Without new sanctions, Moscow will keep dragging out the "
     "process."),
    ("2025-05-28", UP, "readout", "en", "",
     "The President presented state awards to medical workers and rescuers who saved lives after the "
     "latest missile strikes."),
    ("2025-06-04", UP, "statement", "en", "P+ T+",
     "The President is ready to meet at the leaders' level in any format, including a trilateral meeting "
     "with the United States and Russia. That is where real decisions can be made."),
    ("2025-06-16", UP, "evening address", "en", "S+",
     "We urge the United States not to delay sanctions. Every pause is used by Russia to prepare new "
     "offensives."),
    ("2025-06-27", UP, "Telegram channel", "uk", "P+",
     "Україна готова до переговорів, але мир має бути справедливим. Ми не торгуємо нашою землею та "
     "нашими людьми."),
    ("2025-07-07", UP, "evening address", "en", "T+",
     "A trilateral meeting of leaders is the only way to settle the key issues. Ukraine is ready, and we "
     "are waiting for Moscow's answer."),
    ("2025-07-18", UP, "statement", "en", "S+",
     "The latest EU sanctions package is an important step. We are working with partners on the next "
     "one, including a lower oil price cap."),
    ("2025-07-29", UP, "readout", "en", "",
     "The President held a meeting of the Staff on the situation at the front and the supply of air "
     "defence systems."),
    ("2025-08-05", UP, "evening address", "en", "P-",
     "A ceasefire that freezes the front line and leaves millions of Ukrainians under occupation is not "
     "peace. Ukraine will not accept a deal on such terms."),
    ("2025-08-13", UP, "statement", "en", "T+",
     "We support the American efforts toward a trilateral meeting. Decisions about Ukraine cannot be "
     "taken without Ukraine."),
    ("2025-08-22", UP, "statement", "en", "P-",
     "Ukraine will not withdraw from territories it controls as a condition for a ceasefire. Rewarding "
     "aggression would only invite the next war."),
    ("2025-09-03", UP, "Telegram channel", "uk", "P-",
     "Ми не визнаємо жодних окупованих територій російськими. Заморожування війни на умовах Росії — це "
     "не мир, а пауза перед новим наступом."),
    ("2025-09-15", UP, "evening address", "en", "S+",
     "Sanctions on Russian oil must be tightened now. We welcome the signals from Washington and "
     "Brussels."),
    ("2025-09-26", UP, "statement", "en", "P+",
     "Speaking at the UN General Assembly, the President called on the world to support Ukraine's path "
     "to a just peace through strength and through continued talks."),
    ("2025-10-06", UP, "statement", "en", "P+ T+",
     "Ukraine remains ready for negotiations, with the current line of contact as a starting point for "
     "talks, not as a border. We are ready for a trilateral meeting."),
    ("2025-10-17", UP, "evening address", "en", "S+",
     "The new US sanctions against Russian oil giants are exactly the kind of pressure that brings "
     "peace closer. Thank you."),
    ("2025-10-30", UP, "readout", "en", "",
     "The President met with energy sector officials on protecting substations from drone attacks ahead "
     "of the winter."),
    ("2025-11-05", UP, "statement", "en", "P+",
     "Our delegation is working on the peace framework with the American side. Ukraine is constructive "
     "and ready to move forward while protecting its sovereignty."),
    ("2025-11-14", UP, "evening address", "en", "T+",
     "Ukraine is ready for a trilateral meeting of leaders to resolve the most sensitive issues, "
     "including territory."),
    ("2025-11-24", UP, "Telegram channel", "uk", "S+",
     "Тиск на Росію має зростати: нові санкції, обмеження цін на нафту, арешт активів. Лише так ми "
     "досягнемо миру."),
    # ------------------------------------------------------------ Ukrainian MFA
    ("2025-03-11", UM, "ministry statement", "en", "S+",
     "The Ministry calls on partners to adopt new sanctions against Russia's energy sector and shadow "
     "fleet without delay."),
    ("2025-03-25", UM, "ministry statement", "en", "",
     "The Ministry of Foreign Affairs of Ukraine welcomes the signing of a memorandum on consular "
     "cooperation with Portugal."),
    ("2025-04-10", UM, "briefing", "en", "P+",
     "Ukraine is committed to a diplomatic settlement and supports negotiations that lead to a "
     "comprehensive, just and lasting peace in line with the UN Charter."),
    ("2025-04-28", UM, "ministry statement", "uk", "S+",
     "МЗС України засуджує чергову масовану атаку на цивільну інфраструктуру. Це доводить, що Росія не "
     "прагне миру, тому санкційний тиск має посилюватися."),
    ("2025-05-12", UM, "briefing", "en", "P+",
     "Ukraine is ready for a 30-day ceasefire as a basis for negotiations. Russia's refusal shows who is "
     "blocking peace."),
    ("2025-05-26", UM, "ministry statement", "en", "S+",
     "The Ministry welcomes the new EU sanctions package and calls for the next one to target Russian "
     "liquefied natural gas."),
    ("2025-06-11", UM, "readout", "en", "",
     "The Minister held consultations with counterparts from the Nordic and Baltic states on energy "
     "security and assistance to Ukrainian refugees."),
    ("2025-06-25", UM, "commentary", "en", "S+",
     "Easing sanctions now would be a gift to the aggressor. We urge all partners to maintain and "
     "strengthen the pressure."),
    ("2025-07-14", UM, "briefing", "en", "T+",
     "Ukraine supports the idea of a leaders' meeting with the participation of the United States and "
     "Russia. Only leaders can resolve the key issues."),
    ("2025-07-28", UM, "commentary", "en", "P+",
     "Negotiations must lead to a real peace, not to a pause that allows Russia to regroup. Ukraine will "
     "engage constructively."),
    ("2025-08-11", UM, "ministry statement", "en", "P-",
     "Ukraine will not agree to any ceasefire that legalises the occupation of its territory. Such a deal "
     "would violate international law."),
    ("2025-08-25", UM, "ministry statement", "en", "",
     "On Independence Day, the Ministry thanks all states and international organisations that sent "
     "their congratulations to the Ukrainian people."),
    ("2025-09-08", UM, "briefing", "en", "T+",
     "The Ministry welcomes the preparations for a trilateral meeting and stresses that Ukraine will "
     "take part as an equal party."),
    ("2025-09-22", UM, "ministry statement", "uk", "S+",
     "Україна наполягає на посиленні санкцій проти російського нафтового сектору та тіньового флоту."),
    ("2025-10-13", UM, "briefing", "en", "P+",
     "Ukraine remains open to negotiations and has submitted its proposals on humanitarian issues, "
     "including an all-for-all exchange of prisoners."),
    ("2025-10-27", UM, "ministry statement", "en", "S+",
     "The Ministry welcomes the latest EU sanctions package, including the ban on imports of Russian "
     "liquefied natural gas."),
    ("2025-11-10", UM, "briefing", "en", "P+ T+",
     "Ukraine supports continued negotiations and a meeting of leaders to finalise an agreement. Our red "
     "lines remain unchanged."),
    ("2025-11-21", UM, "briefing", "en", "",
     "The Ministry held a briefing for the diplomatic corps on the humanitarian situation in the "
     "frontline regions."),
    # ----------------------------------------------------- European Commission
    ("2025-03-10", EC, "press conference", "en", "S+",
     "Sanctions on Russia remain in place, and they are working. We will keep up the pressure for as "
     "long as necessary."),
    ("2025-03-24", EC, "midday briefing", "en", "",
     "The Commission presented its proposal to simplify reporting requirements for small and "
     "medium-sized enterprises."),
    ("2025-04-14", EC, "statement", "en", "P+",
     "The Commission supports every effort toward a just and lasting peace in Ukraine. Peace must be "
     "negotiated with Ukraine, not over its head."),
    ("2025-04-29", EC, "midday briefing", "en", "S+",
     "The Commission is preparing a new package of sanctions to further cut Russia's revenues and close "
     "loopholes."),
    ("2025-05-15", EC, "statement", "en", "S+",
     "Today we adopted a new sanctions package targeting close to 200 vessels of the shadow fleet. We "
     "are already working on the next one."),
    ("2025-05-28", EC, "midday briefing", "en", "",
     "The Commission announced new calls for proposals under the research and innovation programme, "
     "with a focus on clean technologies."),
    ("2025-06-10", EC, "press conference", "en", "S+",
     "We propose to phase out all remaining imports of Russian gas by the end of 2027. Europe will no "
     "longer be blackmailed with energy."),
    ("2025-06-23", EC, "statement", "en", "P+",
     "Peace through strength: we support negotiations, and we will strengthen Ukraine so that it can "
     "negotiate from a position of strength."),
    ("2025-07-11", EC, "statement", "en", "S+",
     "The new sanctions package lowers the oil price cap and targets Russian banks. This is our "
     "strongest package yet."),
    ("2025-07-25", EC, "midday briefing", "en", "",
     "The Commission disbursed a new tranche of macro-financial assistance to Ukraine under the "
     "Ukraine Facility."),
    ("2025-08-12", EC, "statement", "en", "P+ T+",
     "Any peace negotiations must include Ukraine. We welcome diplomatic efforts, including the prospect "
     "of a leaders' meeting, as long as Ukraine sits at the table."),
    ("2025-08-27", EC, "midday briefing", "en", "S+",
     "Sanctions will not be lifted as part of any deal that rewards aggression. The pressure on Russia "
     "stays until there is a just peace."),
    ("2025-09-10", EC, "press conference", "en", "S+",
     "We are proposing to accelerate the phase-out of Russian LNG and to list more banks in third "
     "countries. The pressure on Russia will only increase."),
    ("2025-09-24", EC, "midday briefing", "en", "",
     "The Commission presented its strategy for completing the digital single market."),
    ("2025-10-08", EC, "statement", "en", "P+",
     "The Commission backs the American peace effort and stands ready to contribute to security "
     "guarantees for Ukraine."),
    ("2025-10-23", EC, "statement", "en", "S+",
     "The new sanctions package is adopted. For the first time, we are banning Russian LNG imports and "
     "hitting the crypto platforms used for evasion."),
    ("2025-11-11", EC, "press conference", "en", "S+",
     "We are already preparing the next package of sanctions. As long as Russia continues its war, the "
     "pressure will keep rising."),
    ("2025-11-26", EC, "statement", "en", "P+",
     "Europe supports negotiations that lead to a just and lasting peace. Ukraine's sovereignty and its "
     "European future are not up for negotiation."),
    # -------------------------------------------------- EU High Representative
    ("2025-03-17", HR, "remarks after Foreign Affairs Council", "en", "S+",
     "Russia is not serious about peace. That is why we must keep the sanctions and increase our support "
     "to Ukraine."),
    ("2025-03-27", HR, "statement", "en", "",
     "The High Representative condemns the attack on UN peacekeepers in southern Lebanon and calls for "
     "a full investigation."),
    ("2025-04-14", HR, "remarks after Foreign Affairs Council", "en", "P+",
     "We support a just peace and genuine negotiations, but a ceasefire must come first, and it must be "
     "unconditional."),
    ("2025-04-24", HR, "declaration on behalf of the EU", "en", "S+",
     "The European Union will maintain and further strengthen its restrictive measures against Russia "
     "for as long as necessary."),
    ("2025-05-20", HR, "remarks after Foreign Affairs Council", "en", "S+",
     "Today the Council agreed a new sanctions package. Russia's shadow fleet is running out of places "
     "to hide."),
    ("2025-05-30", HR, "statement", "en", "",
     "The High Representative travelled to Tokyo for the EU–Japan strategic dialogue on security and "
     "defence cooperation."),
    ("2025-06-23", HR, "remarks after Foreign Affairs Council", "en", "S+",
     "We must not ease the pressure on Russia at the moment when it is starting to hurt. Talk of lifting "
     "sanctions is premature and dangerous."),
    ("2025-06-30", HR, "statement", "en", "P+",
     "Europe supports negotiations, but we will not accept a deal that is imposed on Ukraine."),
    ("2025-07-15", HR, "remarks after Foreign Affairs Council", "en", "S+",
     "The new package is among our strongest. We will continue to raise the cost of the war for "
     "Russia."),
    ("2025-07-28", HR, "statement", "en", "",
     "The High Representative expressed deep concern about the humanitarian situation in Gaza and called "
     "for unimpeded access for aid."),
    ("2025-08-11", HR, "statement", "en", "T-",
     "A meeting of leaders without Europe and without a ceasefire in place risks rewarding aggression. "
     "I do not believe a trilateral summit is the right step now."),
    ("2025-08-21", HR, "interview", "en", "S+",
     "Russia is stalling while pretending to negotiate. We need more sanctions, not fewer."),
    ("2025-09-15", HR, "remarks after Foreign Affairs Council", "en", "T-",
     "Summits are not a substitute for a ceasefire. A trilateral meeting under current conditions would "
     "only give Moscow a stage."),
    ("2025-09-29", HR, "statement", "en", "P+",
     "We support negotiations only if they lead to a just and lasting peace that respects Ukraine's "
     "sovereignty and territorial integrity."),
    ("2025-10-20", HR, "remarks after Foreign Affairs Council", "en", "P+ S+ T-", HR_LONG_REMARKS),
    ("2025-10-30", HR, "statement", "en", "P+ S+",
     "The EU welcomes the new US sanctions on Russia's oil companies. Coordinated pressure across the "
     "Atlantic is what brings Russia to the table."),
    ("2025-11-10", HR, "remarks after Foreign Affairs Council", "en", "P+",
     "Any peace plan must include Europe and Ukraine. We are ready to engage in negotiations that bring "
     "a just peace."),
    ("2025-11-24", HR, "statement", "en", "",
     "The High Representative chaired a ministerial meeting with Central Asian partners on connectivity "
     "and water management."),
]


def parse_truth(code):
    """Turns "P+ S-" into {target name: stance} for all three targets (absent means none)."""
    truth = {name: "none" for name in TARGETS.values()}
    for token in code.split():
        if len(token) != 2 or token[0] not in TARGETS or token[1] not in STANCES:
            raise ValueError(f"bad truth token {token!r} in {code!r}")
        truth[TARGETS[token[0]]] = STANCES[token[1]]
    return truth


def build_rows():
    """Rows in their final order with ids assigned, plus the truth rows."""
    order = sorted(
        range(len(STATEMENTS)),
        key=lambda i: (STATEMENTS[i][0], ACTORS.index(STATEMENTS[i][1]), i),
    )
    rows, truth_rows = [], []
    for n, i in enumerate(order, start=1):
        date, actor, source, lang, code, text = STATEMENTS[i]
        sid = f"demo-{n:04d}"
        rows.append([sid, actor, date, text, source, lang])
        for target, stance in parse_truth(code).items():
            truth_rows.append([sid, target, stance])
    return rows, truth_rows


def render(header, rows):
    # RFC 4180: CRLF record ends, fields quoted only when needed, quotes doubled inside fields.
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def has_cyrillic(text):
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


def validate(path, expected_rows):
    """Reads the written file back with the csv module and checks every row."""
    with open(path, encoding="utf-8", newline="") as f:
        records = list(csv.reader(f))
    problems = []
    if records[0] != COLUMNS:
        problems.append(f"header is {records[0]}, expected {COLUMNS}")
    body = records[1:]
    ids = set()
    for line, row in enumerate(body, start=2):
        if len(row) != len(COLUMNS):
            problems.append(f"record {line}: {len(row)} fields, expected {len(COLUMNS)}")
            continue
        sid, actor, date, text, source, lang = row
        try:
            datetime.date.fromisoformat(date)
        except ValueError:
            problems.append(f"record {line}: date {date!r} is not an ISO date")
        if sid in ids:
            problems.append(f"record {line}: duplicate id {sid}")
        ids.add(sid)
        if actor not in ACTORS:
            problems.append(f"record {line}: unknown actor {actor!r}")
        if not text.strip() or not source.strip():
            problems.append(f"record {line}: empty text or source")
        if lang not in ("en", "ru", "uk"):
            problems.append(f"record {line}: unexpected lang {lang!r}")
        if has_cyrillic(text) != (lang in ("ru", "uk")):
            problems.append(f"record {line}: lang {lang} does not match the script of the text")
    if body != expected_rows:
        problems.append("rows read back differ from the rows written")
    return problems


def summary(rows, truth_rows):
    """Markdown tables: counts per actor × month, per target × stance, and intended monthly means."""
    months = sorted({r[2][:7] for r in rows})
    out = []
    by_actor_month = Counter((r[1], r[2][:7]) for r in rows)
    out.append("| actor | " + " | ".join(m[5:] for m in months) + " | total |")
    out.append("|---|" + "---:|" * (len(months) + 1))
    for actor in ACTORS:
        counts = [by_actor_month[(actor, m)] for m in months]
        out.append(f"| {actor} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    out.append(f"| **all** | " + " | ".join(
        str(sum(by_actor_month[(a, m)] for a in ACTORS)) for m in months) + f" | {len(rows)} |")
    out.append("")

    stance_counts = Counter((t, s) for _, t, s in truth_rows)
    out.append("| target | favor | against | none |")
    out.append("|---|---:|---:|---:|")
    for target in TARGETS.values():
        out.append(f"| {target} | " + " | ".join(
            str(stance_counts[(target, s)]) for s in ("favor", "against", "none")) + " |")
    out.append("")
    langs = Counter(r[5] for r in rows)
    out.append("lang: " + ", ".join(f"{k}={v}" for k, v in sorted(langs.items())))
    longest = max(rows, key=lambda r: len(r[3].split()))
    out.append(f"longest statement: {longest[0]} ({len(longest[3].split())} words)")
    sided = {sid for sid, _, stance in truth_rows if stance != "none"}
    out.append(f"statements taking no side on any target: {len(rows) - len(sided)}")
    multiline = [r[0] for r in rows if "\n" in r[3]]
    out.append("texts with line breaks: " + ", ".join(multiline))
    out.append("")

    # Intended score (favor=+1, against=-1, none=0) averaged over statements that take a side;
    # "." = no statement taking a side on that target in that month.
    value = {"favor": 1, "against": -1}
    date_of = {r[0]: r[2][:7] for r in rows}
    actor_of = {r[0]: r[1] for r in rows}
    cells = defaultdict(list)
    for sid, target, stance in truth_rows:
        if stance in value:
            cells[(actor_of[sid], target, date_of[sid])].append(value[stance])
    for target in TARGETS.values():
        out.append(f"intended stance on **{target}** (mean over statements taking a side, n in brackets)")
        out.append("")
        out.append("| actor | " + " | ".join(m[5:] for m in months) + " |")
        out.append("|---|" + ":---:|" * len(months))
        for actor in ACTORS:
            cols = []
            for m in months:
                vals = cells.get((actor, target, m))
                cols.append("." if not vals else f"{sum(vals) / len(vals):+.1f} ({len(vals)})")
            out.append(f"| {actor} | " + " | ".join(cols) + " |")
        out.append("")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="verify the committed files, write nothing")
    parser.add_argument("--summary", action="store_true", help="print counts as markdown tables")
    args = parser.parse_args()

    rows, truth_rows = build_rows()
    files = {STATEMENTS_CSV: render(COLUMNS, rows), TRUTH_CSV: render(TRUTH_COLUMNS, truth_rows)}
    if args.check:
        stale = [p.name for p, data in files.items() if not p.exists() or p.read_bytes() != data]
        if stale:
            sys.exit(f"out of date (run corpus/make_corpus.py): {', '.join(stale)}")
    else:
        for path, data in files.items():
            path.write_bytes(data)
    problems = validate(STATEMENTS_CSV, rows)
    if problems:
        sys.exit("\n".join(problems))
    if args.summary:
        print(summary(rows, truth_rows))
    else:
        print(f"{len(rows)} statements, {len(truth_rows)} truth rows: ok")


if __name__ == "__main__":
    main()
