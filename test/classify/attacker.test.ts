// The ways around a PII detector an attacker (or an ordinary user of another language) takes:
// special-category statements in the languages Sovereign's users write, identifiers written the
// way people and evaders write them, values split across messages, content that cannot be read.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createClassifier } from '../../src/classify/index.ts';

const classifier = createClassifier();
const found = (text: string): string[] => classifier.classifyText(text).detections.map((d) => d.type);

describe('special categories in other languages are special', () => {
  const cases: [string, string, string][] = [
    ['de', 'Ich bin an Krebs erkrankt und bekomme eine Chemotherapie.', 'HEALTH'],
    ['de', 'Mein Hausarzt hat mir Antidepressiva verschrieben.', 'HEALTH'],
    ['de', 'Ich bin Muslim und bete fünfmal am Tag in der Moschee.', 'RELIGION'],
    ['de', 'Ich bin lesbisch.', 'SEXUAL_ORIENTATION'],
    ['de', 'Ich bin Mitglied der IG Metall.', 'TRADE_UNION'],
    ['fr', "J'ai été hospitalisée pour une dépression.", 'HEALTH'],
    ['fr', 'Je suis juif et je vais à la synagogue.', 'RELIGION'],
    ['fr', 'Je suis homosexuel.', 'SEXUAL_ORIENTATION'],
    ['fr', "Mon test ADN montre une mutation génétique.", 'GENETIC'],
    ['es', 'Tengo diabetes y tomo insulina cada día.', 'HEALTH'],
    ['es', 'Soy católica y voy a misa en la iglesia.', 'RELIGION'],
    ['es', 'Soy bisexual.', 'SEXUAL_ORIENTATION'],
    ['es', 'Estoy afiliado al sindicato.', 'TRADE_UNION'],
    ['ar', 'أنا مصاب بالسرطان وأتلقى العلاج الكيميائي', 'HEALTH'],
    ['ar', 'أنا مسيحي وأذهب إلى الكنيسة', 'RELIGION'],
    ['ar', 'أنا مثلي الجنس', 'SEXUAL_ORIENTATION'],
    ['ar', 'أنا عضو في نقابة العمال', 'TRADE_UNION'],
    ['ms', 'Saya menghidap darah tinggi dan kencing manis.', 'HEALTH'],
    ['ms', 'Saya beragama Kristian dan ke gereja setiap minggu.', 'RELIGION'],
    ['ms', 'Saya seorang biseksual.', 'SEXUAL_ORIENTATION'],
    ['zh', '我患有抑郁症，正在服药。', 'HEALTH'],
    ['zh', '我是基督徒，每周去教堂。', 'RELIGION'],
    ['zh', '我是同性恋。', 'SEXUAL_ORIENTATION'],
    ['zh', '我的指纹和人脸识别数据', 'BIOMETRIC'],
  ];
  for (const [lang, text, type] of cases) {
    test(`${lang}: ${type}`, () => {
      const r = classifier.classifyText(text);
      assert.equal(r.class, 'special', `${text} → ${JSON.stringify(r)}`);
      assert.ok(found(text).includes(type), `${text}: ${found(text).join(',')}`);
    });
  }
});

describe('identifiers written the way people and evaders write them', () => {
  const cases: [string, string][] = [
    ['IBAN in lower case: de89 3704 0044 0532 0130 00', 'IBAN'],
    ['IBAN with dashes: DE89-3704-0044-0532-0130-00', 'IBAN'],
    ['IBAN with a zero-width space: DE89\u200b3704\u200b0044\u200b0532\u200b0130\u200b00', 'IBAN'],
    ['IBAN with a Cyrillic О: DE89 37О4 0044 0532 0130 00', 'IBAN'],
    ['card with dots 4111.1111.1111.1111', 'CREDIT_CARD'],
    ['card in Arabic-Indic digits ٤١١١ ١١١١ ١١١١ ١١١١', 'CREDIT_CARD'],
    ['card in Persian digits ۴۱۱۱ ۱۱۱۱ ۱۱۱۱ ۱۱۱۱', 'CREDIT_CARD'],
    ['card in full-width digits ４１１１ １１１１ １１１１ １１１１', 'CREDIT_CARD'],
    ['card with non-breaking spaces 4111\u00a01111\u00a01111\u00a01111', 'CREDIT_CARD'],
    ['mail jane[at]example.com', 'EMAIL'],
    ['mail jane (at) example (dot) com', 'EMAIL'],
    ['mail jane%40example.com', 'EMAIL'],
    ['mail jane＠example．com', 'EMAIL'],
    ['decode this: amFuZS5kb2VAZXhhbXBsZS5jb20=', 'EMAIL'],
    ['base64 with zero-width characters inside: amFuZS5\u200bkb2VAZXhh\u200bbXBsZS5jb20=', 'EMAIL'],
    ['ＮＨＳ ９４３ ４７６ ５９１９', 'UK_NHS'],
    ['Date of birth: 14/03/1985', 'DATE_OF_BIRTH'],
    ['Geboren am 3. Mai 1990 in Köln', 'DATE_OF_BIRTH'],
    ['née le 12 janvier 1975', 'DATE_OF_BIRTH'],
    ['Passport no. 533380006', 'PASSPORT'],
    ['Numéro de passeport : 09AA12345', 'PASSPORT'],
    ['I live at 10 Downing Street, London SW1A 2AA', 'ADDRESS'],
    ['Lieferadresse: Hauptstr. 5, 80331 München', 'ADDRESS'],
    ['Mi dirección es Calle de Alcalá 42, 28014 Madrid', 'ADDRESS'],
    ['Meine Steuer-ID: 86 095 742 719', 'DE_TAX_ID'],
    ['NIR 2 55 08 14 168 025 38', 'FR_NIR'],
  ];
  for (const [text, type] of cases) {
    test(`${type}: ${text}`, () => {
      const r = classifier.classifyText(text);
      assert.ok(found(text).includes(type), `${text}: ${JSON.stringify(r.detections)}`);
      assert.notEqual(r.class, 'public');
      for (const d of r.detections) assert.ok(d.start >= 0 && d.end <= text.length && d.start < d.end, 'offsets refer to the text as sent');
    });
  }

  test('offsets refer to the text as sent, not the normalised text', () => {
    const text = 'x\u200b\u200b mail jane%40example.com';
    const d = classifier.classifyText(text).detections.find((x) => x.type === 'EMAIL');
    assert.equal(d && text.slice(d.start, d.end), 'jane%40example.com');
  });
});

describe('requests', () => {
  test('a card number split across two messages is found', () => {
    const r = classifier.classifyRequest({ messages: [{ role: 'user', content: 'my card is 4111 1111' }, { role: 'user', content: '1111 1111 thanks' }] });
    assert.equal(r.class, 'personal');
    assert.ok(r.detections.some((d) => d.type === 'CREDIT_CARD'));
  });

  test('an e-mail split across content parts is found', () => {
    const r = classifier.classifyRequest({ messages: [{ role: 'user', content: [{ type: 'text', text: 'write to jane.doe' }, { type: 'text', text: '@example.com' }] }] });
    assert.ok(r.detections.some((d) => d.type === 'EMAIL'), JSON.stringify(r));
  });

  test('an image sent as a data URL makes the request at least personal, per tenant', () => {
    const body = { messages: [{ role: 'user', content: 'what is in data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==' }] };
    assert.equal(classifier.classifyRequest(body).class, 'personal');
    const strict = createClassifier({ uninspectable: { default: 'personal', tenants: { clinic: 'special', lab: 'public' } } });
    assert.equal(strict.classifyRequest(body, undefined, 'clinic').class, 'special');
    assert.equal(strict.classifyRequest(body, undefined, 'lab').class, 'public');
    assert.equal(strict.classifyRequest(body, undefined, 'other').class, 'personal');
  });

  test('an unknown phone region is refused with a clear error', () => {
    assert.throws(() => createClassifier({ phoneRegions: ['Germany'] }), /phone region "Germany" is not an ISO 3166-1 alpha-2 code/);
  });
});

describe('names across cultures', () => {
  const cases: [string, string][] = [
    ['Follow up with Sigrid Nyström in a couple of months.', 'Sigrid Nyström'],
    ['Name: Chise T. Horiguchi', 'Chise T. Horiguchi'],
    ['Please ask Oluwaseun Adeyemi to sign the form.', 'Oluwaseun Adeyemi'],
    ['Sehr geehrter Herr Müller, vielen Dank.', 'Müller'],
    ['اسمي محمد العلي', 'محمد العلي'],
    ['我叫王小明。', '王小明'],
  ];
  for (const [text, name] of cases) {
    test(name, () => {
      const d = classifier.classifyText(text).detections.filter((x) => x.type === 'PERSON');
      assert.ok(d.some((x) => text.slice(x.start, x.end).includes(name)), `${text}: ${JSON.stringify(d)}`);
    });
  }
  test('places and organisations are not names', () => {
    for (const text of ['We flew from New York to Paris.', 'Jordan and Georgia signed the treaty.', 'Deutsche Bank AG reported earnings.', 'She studied at Stanford University.']) {
      assert.ok(!found(text).includes('PERSON'), `${text}: ${found(text).join(',')}`);
    }
  });
});

describe('negated and hypothetical health mentions (NegEx-style) are marked and still special', () => {
  const cases: [string, string, 'negated' | 'hypothetical' | undefined][] = [
    ['Patient denies chest pain.', 'chest pain', 'negated'],
    ['No history of diabetes.', 'diabetes', 'negated'],
    ['Keine bekannten Allergien.', 'Allergien', 'negated'],
    ['Pas de fièvre depuis hier.', 'fièvre', 'negated'],
    ['If the biopsy is positive we will call.', 'biopsy', 'hypothetical'],
    ['Sie hat Diabetes. Kein Fieber.', 'Diabetes', undefined],
    ['我没有糖尿病。', '糖尿病', 'negated'],
  ];
  for (const [text, term, context] of cases) {
    test(`${term}: ${context ?? 'asserted'}`, () => {
      const r = classifier.classifyText(text);
      assert.equal(r.class, 'special');
      const d = r.detections.find((x) => text.slice(x.start, x.end) === term);
      assert.ok(d, JSON.stringify(r.detections));
      assert.equal(d.context, context);
    });
  }
});

describe('numbers that are not phone numbers', () => {
  for (const text of ['Version 2.4.1 was released; see section 3.2.1 and call stack frame 0x7ffe. Order 123456789 shipped.', 'The hotel 20240315 booking ref', 'Build string 4155550132 in the test']) {
    test(text, () => assert.ok(!found(text).includes('PHONE'), JSON.stringify(classifier.classifyText(text).detections)));
  }
});
