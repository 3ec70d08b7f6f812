// Keyword lexicons for GDPR Art. 9(1) special categories of personal data, plus the cue words
// the PERSON heuristics use. Matching is case-insensitive on word boundaries; a trailing `*`
// matches any continuation of the word (diabet* → diabetes, diabetic). Multi-word phrases are
// separated by single spaces. Ambiguous everyday words (race, party, mass, union, straight,
// pride, black, white…) are deliberately absent or appear only inside a disambiguating phrase.

export const SPECIAL_LEXICONS = {
  HEALTH: [
    // English: conditions
    'diagnos*', 'diabet*', 'hiv', 'hiv positive', 'aids patient', 'cancer patient', 'cancers', 'tumor*', 'tumour*',
    'chemotherapy', 'radiotherapy', 'pregnan*', 'prescription*', 'prescribed', 'medication*',
    'antidepressant*', 'insulin', 'asthma*', 'epilep*', 'dementia', 'alzheimer*', 'parkinson*',
    'depression', 'depressive', 'depressed', 'anxiety', 'anxiety disorder', 'panic attack*', 'bipolar',
    'schizophreni*', 'adhd', 'autism', 'autistic', 'ocd', 'insomnia',
    'ptsd', 'hepatitis', 'tuberculosis', 'leukemia', 'leukaemia', 'lymphoma', 'melanoma', 'carcinoma',
    'chronic illness', 'chronic pain', 'disabilit*', 'disabled', 'wheelchair user', 'miscarriage',
    'abortion', 'ivf', 'infertil*', 'sexually transmitted', 'herpes', 'syphilis', 'chlamydia', 'gonorrh*',
    'medical record*', 'medical history', 'medical condition*', 'health condition*', 'blood pressure',
    'blood test*', 'mri', 'mri scan', 'ct scan', 'x-ray', 'ultrasound', 'mammogram', 'biopsy', 'surgery',
    'hospitali*', 'hospital admission', 'admitted to hospital', 'in hospital', 'intensive care',
    'symptom*', 'patient record*', 'my doctor', 'my gp', 'my therapist', 'my psychiatrist', 'my oncologist',
    'therapy session*', 'psychiatr*', 'mental health', 'mental illness', 'eating disorder', 'anorexia', 'bulimia',
    'overdose', 'addiction', 'addicted', 'alcoholism', 'alcoholic', 'rehab', 'covid positive', 'tested positive',
    'allerg*', 'heart attack', 'heart disease', 'heart failure', 'cardiac arrest', 'arrhythmia', 'atrial fibrillation',
    'stroke', 'kidney disease', 'renal failure', 'dialysis', 'arthritis', 'osteoporosis', 'fibromyalgia',
    'multiple sclerosis', 'migraine*', 'obesity', 'obese', 'sick leave', 'sick note', 'illness', 'disease*',
    'cancer', 'cancer diagnosis', 'chemo', 'antiretroviral', 'diagnosis code', 'icd-10', 'hypertension',
    'hypertensive', 'hypotension', 'high blood pressure', 'cholesterol', 'blood sugar', 'glucose level*', 'hba1c',
    'copd', 'pneumonia', 'bronchitis', 'emphysema', 'cystic fibrosis', 'sickle cell', 'anemia', 'anaemia',
    'thyroid', 'hypothyroid*', 'hyperthyroid*', 'crohn*', 'colitis', 'celiac', 'coeliac', 'ibs', 
    'ulcer*', 'cirrhosis', 'psoriasis', 'eczema', 'lupus', 'sepsis', 'concussion', 'fracture*', 'fractured',
    'broken leg', 'broken arm', 'chest pain', 'shortness of breath', 'short of breath', 'fever', 'nausea',
    'dizziness', 'seizure*', 'palpitations', 'rash', 'shingles', 'measles', 'malaria', 'dengue', 'covid',
    'covid-19', 'long covid', 'hiv-positive', 
    'appendectomy', 'mastectomy', 'hysterectomy', 'colonoscopy', 'endoscopy', 'transplant*', 'bypass surgery',
    'angioplasty', 'physiotherapy', 'physical therapy', 'radiation therapy', 'knee replacement', 'hip replacement',
    'c-section', 'caesarean', 'cesarean', 'ecg', 'ekg', 'blood work', 
    'metformin', 'ibuprofen', 'paracetamol', 'acetaminophen', 'atorvastatin', 'simvastatin', 'rosuvastatin',
    'lisinopril', 'amlodipine', 'metoprolol', 'bisoprolol', 'omeprazole', 'pantoprazole', 'sertraline',
    'fluoxetine', 'citalopram', 'escitalopram', 'venlafaxine', 'duloxetine', 'bupropion', 'mirtazapine',
    'quetiapine', 'olanzapine', 'risperidone', 'aripiprazole', 'lithium carbonate', 'methotrexate', 'prednisone',
    'prednisolone', 'levothyroxine', 'warfarin', 'apixaban', 'rivaroxaban', 'clopidogrel', 'salbutamol',
    'albuterol', 'inhaler', 'antibiotic*', 'amoxicillin', 'azithromycin', 'doxycycline', 'ciprofloxacin',
    'gabapentin', 'pregabalin', 'tramadol', 'morphine', 'oxycodone', 'codeine', 'fentanyl', 'diazepam',
    'lorazepam', 'alprazolam', 'clonazepam', 'zolpidem', 'methadone', 'buprenorphine', 'adalimumab',
    'humira', 'ozempic', 'semaglutide', 'losartan', 'hydrochlorothiazide', 'furosemide', 'spironolactone',
    'allopurinol', 'colchicine', 'ventolin', 'epipen', 'adderall', 'ritalin', 'methylphenidate', 'truvada',
    'tamoxifen', 'letrozole', 'herceptin', 'sildenafil', 'viagra', 'contracepti*', 'birth control pill',
    'hormone therapy', 'hormone replacement', 'antihistamine*', 'steroid injection*', 'chemotherapie',
    // German (folded: ä→a, ö→o, ü→u, ß→ss)
    'krankheit*', 'erkrankung*', 'erkrankt', 'diagnostiziert', 'zuckerkrank*', 'krebs', 'krebserkrankung',
    'brustkrebs', 'lungenkrebs', 'darmkrebs', 'prostatakrebs', 'depressiv*', 'depressionen', 'angststorung*',
    'psychisch krank', 'psychische erkrankung', 'medikament*', 'tabletten', 'verschrieben', 'verschreibung',
    'mein arzt', 'meine arztin', 'mein hausarzt', 'meine hausarztin', 'hausarzt', 'krankenhaus*', 'operiert',
    'schwanger*', 'fehlgeburt', 'behinderung*', 'behindert', 'rollstuhl*', 'bluthochdruck', 'herzinfarkt',
    'schlaganfall', 'epilepsie', 'allergie*', 'allergisch', 'migrane', 'bestrahlung', 'dialyse',
    'antidepressiva', 'psychotherapie*', 'krankgeschrieben', 'krankschreibung', 'arbeitsunfahig*', 'schmerzen',
    'hiv-positiv', 'demenz', 'multiple sklerose', 'arthrose', 'rheuma*', 'alkoholsucht', 'magersucht',
    'bulimie', 'adipositas', 'blutzucker', 'blutdruck', 'blutwerte', 'befund*', 'mrt', 'laborwerte',
    'therapie', 'lungenentzundung', 'grippe', 'fieber', 'ubelkeit', 'insulinpflichtig',
    'zuckerkrankheit', 'herzkrank*', 'nierenkrank*', 'leberkrank*',
    // French
    'maladie*', 'malade', 'diabete*', 'tumeur*', 'depressif', 'anxiete', 'bipolaire', 'schizophrene*',
    'medicament*', 'ordonnance medicale', 'sur ordonnance', 'mon medecin', 'mon medecin traitant', 'ma medecin',
    'hopital', 'hospitalise*', 'enceinte', 'grossesse', 'fausse couche', 'handicap*', 'fauteuil roulant',
    'tension arterielle', 'crise cardiaque', 'infarctus', 'asthme', 'allergique', 'chimiotherapie',
    'radiotherapie', 'seropositi*', 'vih', 'sida', 'demence', 'arret maladie', 'symptome*', 'douleur*',
    'sclerose en plaques', 'alcoolisme', 'anorexie', 'boulimie', 'obesite', 'glycemie', 'analyse de sang',
    'prise de sang', 'irm', 'chirurgie', 'antidepresseur*', 'insuline', 'cancer du sein',
    'fievre', 'nausee*', 'grippe', 'pneumonie', 'enceinte de',
    '!enceinte bluetooth', '!enceinte connectee',
    // Spanish
    'enfermedad*', 'enfermo', 'enferma', 'depresion', 'ansiedad', 'trastorno*', 'esquizofrenia',
    'medicamento*', 'receta medica', 'mi medico', 'mi medica', 'en el hospital', 'embarazada*', 'embarazo', 'aborto',
    'discapacidad*', 'silla de ruedas', 'hipertension', 'presion arterial', 'infarto', 'ataque al corazon',
    'asma', 'epilepsia', 'alergia*', 'alergico*', 'migrana', 'quimioterapia', 'radioterapia', 'dialisis',
    'seropositivo*', 'demencia', 'baja medica', 'sintoma*', 'dolor', 'dolores', 'esclerosis multiple',
    'adiccion', 'alcoholismo', 'obesidad', 'glucosa', 'analisis de sangre', 'resonancia magnetica', 'cirugia',
    'operado', 'operada', 'antidepresivo*', 'insulina', 'cancer de mama', 'fiebre', 'neumonia', 'gripe',
    // Malay
    'penyakit*', 'sakit', 'kencing manis', 'barah', 'kanser', 'kemurungan', 'gangguan mental', 'ubat',
    'ubat-ubatan', 'preskripsi', 'doktor saya', 'dimasukkan ke hospital', 'mengandung', 'hamil', 'keguguran',
    'kecacatan', 'orang kurang upaya', 'kerusi roda', 'darah tinggi', 'tekanan darah', 'serangan jantung',
    'strok', 'asma', 'epilepsi', 'sawan', 'alergi', 'migrain', 'kemoterapi', 'hiv positif', 'demam',
    'simptom', 'gejala', 'sakit kepala', 'cuti sakit', 'pembedahan', 'dibedah', 'rawatan', 'didiagnosis',
    // Negatives: a longer match on one of these suppresses the shorter positive inside it.
    '!diagnostic', '!diagnostics', '!cancer season', '!sakit hati', '!brush stroke', '!stroke of', '!stroke width',
    '!rash decision', '!fever pitch',
    // Arabic (folded like the scanned text: hamza and vowel marks removed)
    'مرض', 'مريض', 'مريضة', 'امراض', 'السكري', 'سكري', 'مرض السكر', 'سرطان', 'السرطان', 'ورم', 'اكتئاب',
    'الاكتئاب', 'اضطراب', 'دواء', 'ادوية', 'الدواء', 'علاج', 'العلاج', 'طبيبي', 'مستشفى', 'المستشفى',
    'حامل', 'الحمل', 'اجهاض', 'اعاقة', 'ضغط الدم', 'نوبة قلبية', 'سكتة دماغية', 'الربو', 'ربو', 'صرع',
    'الصرع', 'حساسية', 'صداع نصفي', 'العلاج الكيميائي', 'غسيل الكلى', 'فيروس نقص المناعة', 'الايدز',
    'تشخيص', 'اعراض', 'جراحة', 'عملية جراحية', 'الانسولين', 'انسولين', 'الم', 'الزهايمر',
    'مصاب', 'مصابة', 'اصبت', 'الصحة النفسية', 'اجازة مرضية',
    // Chinese
    '疾病', '生病', '患有', '患者', '病人', '糖尿病', '癌症', '肿瘤', '抑郁症', '抑郁', '焦虑症', '精神病',
    '精神分裂', '双相', '药物', '服药', '吃药', '处方', '住院', '医院', '怀孕', '流产', '残疾', '轮椅', '高血压',
    '血压', '心脏病', '中风', '哮喘', '癫痫', '过敏', '偏头痛', '化疗', '放疗', '透析', '艾滋病', '诊断',
    '确诊', '症状', '手术', '胰岛素', '病假', '乳腺癌', '肺癌', '肝癌', '胃癌', '病情', '治疗', '医生说',
    '心理咨询', '失眠', '发烧',
  ],
  RELIGION: [
    'muslim*', 'islam', 'islamic', 'christian', 'christians', 'christianity', 'catholic*', 'protestant*',
    'evangelical*', 'baptist*', 'methodist*', 'lutheran*', 'anglican*', 'orthodox church', 'mormon*',
    'jehovah*', 'jewish', 'jew', 'jews', 'judaism', 'hindu*', 'buddhis*', 'buddhist', 'sikh*', 'jain*',
    'atheis*', 'agnostic*', 'church', 'churches', 'mosque*', 'synagogue*', 'gurdwara',
    'religio*', 'my faith', 'ramadan', 'quran', 'koran', 'bible study', 'torah', 'kosher', 'halal',
    'sabbath', 'prayer*', 'pray', 'praying', 'imam', 'rabbi', 'pastor', 'priest', 'baptised', 'baptized',
    'converted to', 'scientolog*', 'pagan*', 'shinto', 'taoism', 'zoroastrian*', 'bah\'ai', 'shia', 'sunni',
    // German
    'moslem*', 'christ', 'christin', 'katholisch*', 'evangelisch*', 'judisch*', 'jude', 'judin', 'juden',
    'moschee*', 'kirche', 'synagoge*', 'konfession*', 'atheist', 'atheistin', 'buddhistisch*',
    'kirchensteuer', 'mein glaube', 'meinen glauben', 'gottesdienst*', 'konvertiert',
    // French
    'musulman*', 'chretien*', 'catholique*', 'juif', 'juive*', 'juifs', 'mosquee*', 'eglise', 'athee*',
    'bouddhiste*', 'ma foi', 'pratiquant*', 'converti a', 'convertie a',
    // Spanish
    'musulmana*', 'cristian*', 'catolic*', 'judio*', 'judia*', 'mezquita', 'iglesia', 'sinagoga', 'ateo',
    'atea', 'budista*', 'mi fe', 'creyente*',
    // Malay
    'kristian', 'beragama', 'agama', 'masjid', 'gereja', 'kuil', 'solat', 'berpuasa', 'murtad', 'mualaf',
    'tokong', 'surau',
    // Arabic
    'مسلم', 'مسلمة', 'الاسلام', 'مسيحي', 'مسيحية', 'يهودي', 'يهودية', 'بوذي', 'هندوسي', 'ملحد', 'ملحدة',
    'المسجد', 'مسجد', 'كنيسة', 'الكنيسة', 'صلاة', 'اصلي', 'رمضان', 'صائم', 'شيعي', 'سني', 'الدين', 'ديني',
    'ديانتي', 'عقيدتي', 'اعتنقت',
    // Chinese
    '穆斯林', '伊斯兰教', '基督徒', '基督教', '天主教', '佛教徒', '佛教', '道教', '犹太教', '犹太人', '印度教',
    '清真寺', '教堂', '宗教信仰', '信仰', '无神论', '信教', '礼拜', '信佛', '信主',
  ],
  ETHNICITY: [
    'ethnic*', 'racial', 'race or ethnic origin', 'african american*', 'afro-caribbean', 'caucasian*',
    'hispanic*', 'latino*', 'latina*', 'latinx', 'asian american*', 'pacific islander*',
    'native american*', 'indigenous', 'aboriginal', 'first nations', 'roma people', 'romani', 'gypsy',
    'traveller community', 'mixed race', 'biracial', 'arab descent', 'of african descent',
    'of asian descent', 'ethnic origin', 'racial origin', 'ethnic minority', 'person of colour',
    'person of color', 'people of colour', 'people of color', 'bame', 'han chinese', 'malay muslim',
    'tamil', 'kurdish', 'uyghur*', 'rohingya', 'of mixed heritage', 'black british', 'white british',
    // German
    'ethnisch*', 'migrationshintergrund', 'sinti', 'kurde', 'kurdin', 'turkischstammig', 'herkunft aus',
    'volkszugehorigkeit',
    // French
    'ethnique*', 'origine ethnique', 'origine maghrebine', 'maghrebin*', 'd\'origine africaine', 'gitan*',
    // Spanish
    'etnia*', 'etnico', 'etnica', 'origen etnico', 'gitano', 'gitana', 'indigena*', 'afrodescendiente*',
    // Malay
    'berbangsa', 'keturunan', 'bumiputera', 'orang asli', 'etnik',
    // Arabic
    'عرق', 'عرقي', 'عرقية', 'اصل عرقي', 'الاصل العرقي', 'كردي', 'كردية', 'امازيغي', 'عنصري',
    // Chinese
    '民族', '种族', '少数民族', '维吾尔', '维吾尔族', '藏族', '汉族', '回族', '血统', '壮族', '蒙古族',
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
    // German
    'partei*', 'parteimitglied*', 'ich wahle', 'gewahlt', 'spd', 'cdu', 'csu', 'afd', 'die grunen',
    'die linke', 'fdp', 'politische meinung', 'politische uberzeugung*', 'politische einstellung',
    'sozialist*', 'kommunist*', 'rechtsextrem*', 'linksextrem*', 'demonstration gegen',
    // French
    'parti politique', 'opinion politique', 'opinions politiques', 'j\'ai vote', 'je vote', 'militant*',
    'socialiste*', 'communiste*', 'rassemblement national', 'france insoumise', 'les republicains',
    'extreme droite', 'extreme gauche', 
    // Spanish
    'partido politico', 'afiliado al partido', 'vote por', 'comunista*', 'ideologia politica',
    'de izquierdas', 'de derechas', 'militante*', 'psoe', 'partido popular',
    // Malay
    'parti politik', 'ahli parti', 'mengundi', 'pembangkang', 'umno', 'pakatan harapan', 'perikatan nasional',
    'fahaman politik',
    // Arabic
    'حزب', 'الحزب', 'عضو في حزب', 'صوتت', 'انتخبت', 'معارض', 'معارضة', 'اشتراكي', 'شيوعي',
    'الاخوان المسلمين', 'رايي السياسي', 'اراء سياسية', 'ناشط سياسي',
    // Chinese
    '党员', '共产党', '政党', '政治观点', '政治立场', '投票给', '民主党', '共和党', '反对派', '社会主义', '入党',
  ],
  SEXUAL_ORIENTATION: [
    'sexual orientation', 'sexuality', 'gay', 'gays', 'lesbian*', 'bisexual*', 'homosexual*',
    'heterosexual*', 'asexual*', 'pansexual*', 'queer', 'lgbt*', 'came out as', 'coming out as',
    'transgender', 'non-binary', 'nonbinary', 'same-sex', 'same sex partner',
    'sex life', 'sexual partner*', 'sexual preference*', 'my boyfriend and i are both', 'my husband and i',
    // German
    'schwul*', 'lesbisch*', 'bisexuell*', 'homosexuell*', 'heterosexuell*', 'sexuelle orientierung',
    'coming-out', 'trans frau', 'trans mann',
    // French
    'homosexuel*', 'lesbienne*', 'bisexuel*', 'orientation sexuelle', 'transgenre*', 'heterosexuel*',
    // Spanish
    'homosexualidad', 'lesbiana*', 'orientacion sexual', 'transgenero*', 'salir del armario', 'sali del armario',
    // Malay
    'homoseksual', 'biseksual', 'orientasi seksual', 'lesbian', 'pengkid', 'songsang',
    // Arabic
    'مثلي', 'مثلية', 'مثليين', 'المثلية الجنسية', 'مثلي الجنس', 'ثنائي الجنس', 'متحول جنسيا', 'ميول جنسية',
    'ميولي الجنسية',
    // Chinese
    '同性恋', '男同', '女同', '双性恋', '性取向', '跨性别', '出柜', 
  ],
  TRADE_UNION: [
    'trade union*', 'trades union*', 'labor union*', 'labour union*', 'union member*', 'union membership',
    'union dues', 'union rep', 'union representative', 'shop steward*', 'unionised', 'unionized',
    'unionise', 'unionize', 'collective bargaining', 'teamsters', 'afl-cio', 'unite the union',
    'gmb union', 'strike ballot', 'picket line', 'my union',
    // German
    'gewerkschaft*', 'betriebsrat', 'betriebsratin', 'ig metall', 'verdi-mitglied', 'streikposten', 'tarifverhandlung*',
    // French
    'syndicat*', 'syndique', 'syndiquee', 'syndicaliste*', 'delegue syndical', 'cgt', 'cfdt', 'force ouvriere',
    // Spanish
    'sindicato*', 'sindical', 'sindicalista*', 'afiliado al sindicato', 'comisiones obreras', 'ugt',
    // Malay
    'kesatuan sekerja', 'ahli kesatuan', 'kesatuan pekerja',
    // Arabic
    'نقابة', 'النقابة', 'نقابي', 'عضو في نقابة', 'عضو نقابة', 'اضراب',
    // Chinese
    '工会', '工会会员', '罢工', '职工会',
  ],
  BIOMETRIC: [
    'biometric*', 'fingerprint scan*', 'fingerprint reader*', 'fingerprint data', 'fingerprint record*',
    'fingerprinted', 'my fingerprint*', 'his fingerprint*', 'her fingerprint*', 'their fingerprints',
    'finger print*', 'face scan*', 'facial recognition', 'facial geometry', 'faceprint*',
    'face template*', 'iris scan*', 'retina scan*', 'retinal scan*', 'voiceprint*', 'voice print*',
    'palm print*', 'palm vein', 'gait analysis', 'face id data',
    // German
    'fingerabdruck*', 'fingerabdrucke*', 'gesichtserkennung', 'iris-scan', 'biometrisch*', 'gesichtsscan',
    // French
    'empreinte digitale', 'empreintes digitales', 'reconnaissance faciale', 'biometrique*', 'empreinte vocale',
    // Spanish
    'huella dactilar', 'huellas dactilares', 'reconocimiento facial', 'biometrico*', 'biometrica*',
    // Malay
    'cap jari', 'pengecaman wajah', 'biometrik', 'imbasan iris',
    // Arabic
    'بصمة', 'بصمات الاصابع', 'بصمة الوجه', 'التعرف على الوجه', 'بصمة العين', 'القياسات الحيوية', 'بصمتي',
    // Chinese
    '指纹', '人脸识别', '面部识别', '虹膜', '生物识别', '声纹', '刷脸',
  ],
  GENETIC: [
    'genetic*', 'genome*', 'genomic*', 'dna', 'rna sequencing', 'gene test*', 'brca1', 'brca2', 'brca',
    'genotype*', 'hereditary', 'chromosom*', '23andme', 'ancestrydna', 'paternity test*', 'snp array',
    'exome', 'carrier screening', 'gene mutation*', 'mutation carrier', 'inherited condition',
    '!genetic algorithm*', '!genetic programming', '!genetic operator*', '!dna of', '!company dna',
    // German
    'genetisch*', 'gentest*', 'erbgut', 'erbkrank*', 'dna-test', 'vaterschaftstest', 'erblich',
    // French
    'genetique*', 'test adn', 'adn', 'test de paternite', 'hereditaire*',
    // Spanish
    'genetico', 'genetica', 'prueba de adn', 'hereditari*', 'prueba de paternidad',
    // Malay
    'genetik', 'ujian dna', 'keturunan genetik', 'baka genetik',
    // Arabic
    'جيني', 'جينية', 'جينات', 'وراثي', 'وراثية', 'الحمض النووي', 'فحص جيني', 'فحص الحمض النووي',
    // Chinese
    '基因', '遗传', '基因检测', '基因组', '亲子鉴定', '染色体',
  ],
} as const satisfies Record<string, readonly string[]>;

export type SpecialCategory = keyof typeof SPECIAL_LEXICONS;

/** Honorifics and titles: a following capitalised word is a name (the title itself is not reported). */
export const TITLES: readonly string[] = [
  'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'professor', 'sir', 'dame', 'madam', 'madame',
  'mme', 'mlle', 'herr', 'frau', 'senor', 'senora', 'senorita', 'sheikh', 'shaikh', 'monsieur', 'mademoiselle',
  'dott', 'dottore', 'signor', 'signora', 'encik', 'cik', 'puan', 'tuan', 'datuk', 'dato', 'haji', 'hajah',
  'ustaz', 'ustazah', 'doktor', 'rev', 'reverend', 'sayyid', 'mevrouw', 'meneer',
];

/** Phrases directly followed by a name: "my name is Dan", "Dear Ms Khan", "patient John Doe". */
export const NAME_CUES_NEXT: readonly string[] = [
  'my name is', 'his name is', 'her name is', 'their name is', 'my name\'s', 'i am called', 'call me',
  'his name was', 'her name was', 'dear', 'signed', 'patient', 'ich heisse', 'mein name ist', 'sehr geehrter herr',
  'sehr geehrte frau', 'je m\'appelle', 'mon nom est', 'me llamo',
  'mi nombre es', 'estimado', 'estimada', 'nama saya', 'yang dihormati', 'contact person',
  'ansprechpartner', 'ansprechpartnerin',
];

/** Form labels followed by a colon and a name: "Name: Jane Doe". */
export const NAME_CUES_COLON: readonly string[] = [
  'name', 'full name', 'surname', 'first name', 'last name', 'maiden name', 'patient name',
  'customer name', 'employee name', 'contact name', 'account holder', 'cardholder', 'nom', 'prenom',
  'nom de famille', 'nombre', 'apellidos', 'vorname', 'nachname', 'familienname', 'geburtsname', 'nama',
  'nama penuh', 'client', 'applicant', 'insured', 'versicherter', 'from', 'to', 'cc', 'attn', 'attention',
  'recipient', 'sender', 'beneficiary', 'emergency contact', 'next of kin', 'guardian', 'author', 'witness',
  'employee', 'customer', 'tenant', 'landlord', 'owner', 'doctor', 'physician', 'nurse', 'referred by',
];

/** Letter sign-offs followed by an optional comma, a line break and a name. */
export const NAME_CUES_SIGNOFF: readonly string[] = [
  'regards', 'best regards', 'kind regards', 'warm regards', 'sincerely', 'yours sincerely',
  'yours faithfully', 'best wishes', 'cheers', 'thanks', 'thank you', 'many thanks', 'best', 'warmly',
  'all the best', 'mit freundlichen grussen', 'viele grusse', 'liebe grusse', 'beste grusse', 'gruss',
  'cordialement', 'bien cordialement', 'salutations', 'bien a vous', 'atentamente', 'saludos', 'un saludo',
  'yang benar', 'terima kasih',
];

/** Phrases after which a date is a date of birth. */
export const DOB_CUES: readonly string[] = [
  'born on', 'born', 'date of birth', 'dob', 'd o b', 'birth date', 'birthdate', 'birthday', 'geboren am',
  'geboren', 'geburtsdatum', 'geb', 'ne le', 'nee le', 'date de naissance', 'fecha de nacimiento',
  'nacido el', 'nacida el', 'nacio el', 'tarikh lahir', 'lahir pada', 'dilahirkan pada', 'dob is',
  // Arabic and Chinese (matched in the scripts' own matcher)
  'تاريخ الميلاد', 'مواليد', 'ولد في', 'ولدت في', 'تاريخ ميلادي', '出生日期', '生于', '出生于', '生日',
];

/** Phrases after which a document number is a passport number. */
export const PASSPORT_CUES: readonly string[] = [
  'passport', 'passport number', 'passport no', 'passport num', 'passport nr', 'reisepass', 'reisepassnummer',
  'passnummer', 'pass-nr', 'passeport', 'numero de passeport', 'pasaporte', 'numero de pasaporte', 'pasport',
  'nombor pasport', 'جواز السفر', 'جواز سفر', 'رقم الجواز', '护照', '护照号', '护照号码',
];

/** Street types written after the street's name ("Baker Street", "Berliner Strasse", "Main St"). */
export const STREETS_AFTER: readonly string[] = [
  'street', 'st', 'road', 'rd', 'avenue', 'ave', 'lane', 'ln', 'drive', 'boulevard', 'blvd', 'court', 'ct',
  'place', 'way', 'close', 'crescent', 'terrace', 'square', 'parkway', 'highway', 'hwy', 'grove', 'gardens',
  'mews', 'walk', 'row', 'strasse', 'str',
  'weg', 'platz', 'allee', 'gasse', 'damm',
];

/** Street types written before the name ("rue de la Paix", "Calle Mayor", "Jalan Ampang", "Via Roma"). */
export const STREETS_BEFORE: readonly string[] = [
  'rue', 'boulevard de', 'avenue de', 'chemin', 'impasse', 'quai', 'route de', 'calle', 'avenida', 'avda',
  'plaza', 'paseo', 'carretera', 'camino', 'jalan', 'jln', 'lorong', 'persiaran', 'via', 'viale', 'piazza',
  'corso', 'po box', 'postfach', 'boite postale', 'apartado', 'blk', 'block',
];

/** Chinese and Arabic cues followed by a name ("我叫", "اسمي") and Chinese titles after a name. */
export const WIDE_NAME_CUES: readonly string[] = ['我叫', '我的名字是', '姓名', '名字是', 'اسمي', 'السيد', 'السيدة', 'الدكتور', 'الدكتورة', 'الاستاذ', 'المريض', 'المريضة'];
export const HAN_TITLES_AFTER: readonly string[] = ['先生', '女士', '小姐', '医生', '教授', '老师', '同学'];
