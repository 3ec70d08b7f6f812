// Keyword lexicons for GDPR Art. 9(1) special categories of personal data, plus the cue words
// the PERSON heuristics use. Matching is case-insensitive on word boundaries; a trailing `*`
// matches any continuation of the word (diabet* → diabetes, diabetic). Multi-word phrases are
// separated by single spaces. Ambiguous everyday words (race, party, mass, union, straight,
// pride, black, white…) are deliberately absent or appear only inside a disambiguating phrase.

export const SPECIAL_LEXICONS = {
  HEALTH: [
    'diagnos*', 'diabet*', 'hiv', 'aids patient', 'cancer patient', 'cancers', 'tumor*', 'tumour*',
    'chemotherapy', 'radiotherapy', 'pregnan*', 'prescription*', 'prescribed', 'medication*',
    'antidepressant*', 'insulin', 'asthma*', 'epilep*', 'dementia', 'alzheimer*', 'parkinson*',
    'depression', 'depressive', 'anxiety disorder', 'bipolar', 'schizophreni*', 'adhd', 'autism', 'autistic',
    'ptsd', 'hepatitis', 'tuberculosis', 'leukemia', 'leukaemia', 'lymphoma', 'melanoma', 'carcinoma',
    'chronic illness', 'chronic pain', 'disabilit*', 'disabled', 'wheelchair user', 'miscarriage',
    'abortion', 'ivf', 'infertil*', 'sexually transmitted', 'herpes', 'syphilis', 'chlamydia', 'gonorrh*',
    'medical record*', 'medical history', 'medical condition*', 'health condition*', 'blood pressure',
    'blood test*', 'mri scan', 'ct scan', 'biopsy', 'surgery', 'hospitali*', 'hospital admission',
    'symptom*', 'patient record*', 'my doctor', 'my gp', 'my therapist', 'therapy session*',
    'psychiatr*', 'mental health', 'mental illness', 'eating disorder', 'anorexia', 'bulimia',
    'overdose', 'addiction', 'alcoholism', 'rehab', 'covid positive', 'tested positive', 'allerg*',
    'heart attack', 'heart disease', 'stroke patient', 'kidney disease', 'dialysis', 'arthritis',
    'multiple sclerosis', 'migraine*', 'obesity', 'sick leave', 'sick note', 'illness', 'disease',
    'cancer', 'cancer diagnosis', 'chemo', 'antiretroviral', 'diagnosis code', 'icd-10',
    // Negatives: a longer match on one of these suppresses the shorter positive inside it.
    '!diagnostic', '!diagnostics', '!cancer season',
  ],
  RELIGION: [
    'muslim*', 'islam', 'islamic', 'christian', 'christians', 'christianity', 'catholic*', 'protestant*',
    'evangelical*', 'baptist*', 'methodist*', 'lutheran*', 'anglican*', 'orthodox church', 'mormon*',
    'jehovah*', 'jewish', 'jew', 'jews', 'judaism', 'hindu*', 'buddhis*', 'buddhist', 'sikh*', 'jain*',
    'atheis*', 'agnostic*', 'church', 'churches', 'mosque*', 'synagogue*', 'gurdwara',
    'religio*', 'my faith', 'ramadan', 'quran', 'koran', 'bible study', 'torah', 'kosher', 'halal',
    'sabbath', 'prayer*', 'pray', 'praying', 'imam', 'rabbi', 'pastor', 'priest', 'baptised', 'baptized',
    'converted to', 'scientolog*', 'pagan*', 'shinto', 'taoism', 'zoroastrian*', 'bah\'ai',
  ],
  ETHNICITY: [
    'ethnic*', 'racial', 'race or ethnic origin', 'african american*', 'afro-caribbean', 'caucasian*',
    'hispanic*', 'latino*', 'latina*', 'latinx', 'asian american*', 'pacific islander*',
    'native american*', 'indigenous', 'aboriginal', 'first nations', 'roma people', 'romani', 'gypsy',
    'traveller community', 'mixed race', 'biracial', 'arab descent', 'of african descent',
    'of asian descent', 'ethnic origin', 'racial origin', 'ethnic minority', 'person of colour',
    'person of color', 'people of colour', 'people of color', 'bame', 'han chinese', 'malay muslim',
    'tamil', 'kurdish', 'uyghur*', 'rohingya',
  ],
  POLITICAL: [
    'political opinion*', 'political view*', 'political belief*', 'political affiliation*',
    'political party', 'party member*', 'party membership', 'i voted', 'i vote', 'my vote',
    'democrat', 'democrats', 'democratic party', 'republican', 'republicans',
    'republican party', 'labour party', 'conservative party', 'tory', 'tories', 'liberal democrat*',
    'green party', 'socialist*', 'communist*', 'marxist*', 'anarchist*', 'libertarian*',
    'fascist*', 'far-right', 'far-left', 'far right', 'far left', 'left-wing', 'right-wing', 'left wing',
    'right wing',
    'campaign donation', 'political donation', 'protest march', 'activist*', 'pro-life', 'pro-choice',
    'brexit', 'remainer*', 'maga', 'feminist*', '!left wing of the', '!right wing of the',
  ],
  SEXUAL_ORIENTATION: [
    'sexual orientation', 'sexuality', 'gay', 'gays', 'lesbian*', 'bisexual*', 'homosexual*',
    'heterosexual*', 'asexual*', 'pansexual*', 'queer', 'lgbt*', 'came out as', 'coming out as',
    'transgender', 'non-binary', 'nonbinary', 'same-sex', 'same sex partner',
    'sex life', 'sexual partner*', 'sexual preference*',
  ],
  TRADE_UNION: [
    'trade union*', 'trades union*', 'labor union*', 'labour union*', 'union member*', 'union membership',
    'union dues', 'union rep', 'union representative', 'shop steward*', 'unionised', 'unionized',
    'unionise', 'unionize', 'collective bargaining', 'teamsters', 'afl-cio', 'unite the union',
    'gmb union', 'strike ballot', 'picket line',
  ],
  BIOMETRIC: [
    'biometric*', 'fingerprint scan*', 'fingerprint reader*', 'fingerprint data', 'fingerprint record*',
    'fingerprinted', 'my fingerprint*', 'his fingerprint*', 'her fingerprint*', 'their fingerprints',
    'finger print*', 'face scan*', 'facial recognition', 'facial geometry', 'faceprint*',
    'face template*', 'iris scan*', 'retina scan*', 'retinal scan*', 'voiceprint*', 'voice print*',
    'palm print*', 'palm vein', 'gait analysis',
  ],
  GENETIC: [
    'genetic*', 'genome*', 'genomic*', 'dna', 'rna sequencing', 'gene test*', 'brca1', 'brca2', 'brca',
    'genotype*', 'hereditary', 'chromosom*', '23andme', 'ancestrydna', 'paternity test*', 'snp array',
    'exome', 'carrier screening', 'gene mutation*', 'mutation carrier',
    '!genetic algorithm*', '!genetic programming', '!genetic operator*', '!dna of', '!company dna',
  ],
} as const satisfies Record<string, readonly string[]>;

export type SpecialCategory = keyof typeof SPECIAL_LEXICONS;

/** Honorifics and titles: a following capitalised word is a name (the title itself is not reported). */
export const TITLES: readonly string[] = [
  'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'professor', 'sir', 'dame', 'madam', 'madame',
  'mme', 'mlle', 'herr', 'frau', 'senor', 'sheikh', 'shaikh',
];

/** Phrases after which capitalised words are a name. */
/** Phrases directly followed by a name: "my name is Dan", "Dear Ms Khan", "patient John Doe". */
export const NAME_CUES_NEXT: readonly string[] = [
  'my name is', 'his name is', 'her name is', 'their name is', 'my name\'s', 'i am called', 'call me',
  'dear', 'signed', 'patient',
];

/** Form labels followed by a colon and a name: "Name: Jane Doe". */
export const NAME_CUES_COLON: readonly string[] = [
  'name', 'full name', 'surname', 'first name', 'last name', 'maiden name', 'patient name',
  'customer name', 'employee name', 'contact name', 'account holder', 'cardholder',
];

/** Letter sign-offs followed by an optional comma, a line break and a name. */
export const NAME_CUES_SIGNOFF: readonly string[] = [
  'regards', 'best regards', 'kind regards', 'warm regards', 'sincerely', 'yours sincerely',
  'yours faithfully', 'best wishes', 'cheers', 'thanks', 'thank you', 'many thanks',
];
