// A compact list of common given names across the regions Sovereign serves (anglophone, European,
// Arabic, South and South-East Asian, Chinese romanisations). It is a precision aid for PERSON,
// not a census: unlisted names are found only through titles and cue phrases.

const LISTED_FIRST_NAMES: readonly string[] = `
aaron abigail adam adrian ahmad ahmed aisha alan albert alex alexander alexandra alice alicia alison
amanda amelia amir amy ana andrea andrew angela anita ann anna anne anthony antonio arjun arthur
ashley barbara benjamin beth betty brandon brian bruce carl carlos caroline catherine charles charlotte
chloe chris christopher claire claudia colin daniel dan danielle david deborah dennis diana diego
dmitri donald dorothy douglas edward elena elizabeth ella emily emma eric ethan eva evelyn fatima
fernando fiona francesca francis gabriel gareth gary george georgia gerald gregory hana hannah harold
harry hassan heinrich helen henry hiroshi hugo ian isabel isabella isaac ivan jacob james jane janet
jason jennifer jessica joan joanna john jonathan jorge jose joseph joshua juan julia julie justin
karen katherine kathleen kenneth kevin khalid kimberly klaus laura lauren leila leonardo linda lisa
lorenzo louise lucas lucy luis maria marie marco margaret martin mary matthew megan melissa michael
michelle mohammed mohammad muhammad nadia nancy natalie nathan nicholas nicola nicole noah olga olivia
omar oliver pablo pamela patricia patrick paul paula peter philip priya rachel rahul raj rajesh
rebecca richard robert roberto ryan samantha samuel sandra sara sarah scott sean sebastian sergei
sharon simon sofia sophia sophie stephanie stephen steven susan thomas timothy tom tomas valentina
victoria vincent walter wei william yusuf zainab zoe
abdullah ali aarav aditya amit ananya anil deepak divya gaurav kavya lakshmi manoj meera neha pooja
pradeep priyanka rohit sanjay sunil suresh vijay vikram
siti nur nurul aminah farah hafiz ismail razak rashid salim yasmin zara layla mariam noura rania
tariq faisal hamad khalifa saeed sultan mansour abdul abdulla
jun ming li ling mei xin yan hui jie chen hao kai lin yi xiao wen tan lim ong goh
hans jurgen lukas felix jonas leon emil mathilde camille pierre jacques francois antoine louis
giulia giovanni luca matteo alessandro marta pilar javier alejandro lucia carmen mateo
sven lars erik ingrid astrid magnus nils anders johan
mitchell dylan tyler kyle zachary jordan logan connor austin cody derek travis
gemma kirsty shona siobhan niamh aoife ciaran declan eoin liam cian
`.trim().split(/\s+/);

/**
 * Given names that are also ordinary English words. They count as a name only when followed by a
 * capitalised surname ("Will Turner"), never alone ("Will you…").
 */
export const AMBIGUOUS_FIRST_NAMES: readonly string[] = `
will may june april august mark bill grace hope faith rose jack frank rich art sandy dawn joy amber
summer autumn ray gene carol sue pat don guy rob penny ruby iris lily daisy holly ivy jade crystal
heather ginger cliff dean drew grant lance miles nick rocky rusty wade chase max victor
li yi tan lim ong goh jun kai lin ming austin jordan georgia victoria hugo sultan khalifa
`.trim().split(/\s+/);

/** Capitalised words that never continue a name (sentence words, days, months, pronouns). */
export const NOT_SURNAMES: readonly string[] = `
the a an and or but if then so of in on at to for from by with without is are was were be been has
have had do does did i we you he she it they me us him her them my our your his its their this that
these those here there what when where who whom why how which yes no not please thanks thank hi hello
dear monday tuesday wednesday thursday friday saturday sunday january february march april may june
july august september october november december street st road rd avenue ave lane ln drive dr
inc ltd llc plc corp company university hospital bank school college team group
mr mrs ms miss mx prof professor sir dame madam madame lord lady
`.trim().split(/\s+/);

const AMBIGUOUS = new Set(AMBIGUOUS_FIRST_NAMES);

/** Given names that count as a name on their own (the ambiguous ones removed). */
export const FIRST_NAMES: readonly string[] = LISTED_FIRST_NAMES.filter((n) => !AMBIGUOUS.has(n));
