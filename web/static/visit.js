// The patient's visit page (/visit/<room>#t=<token>): the patient, a relative or
// an interpreter joins from the invitation link, often on a phone. Too early,
// it says when to come back and waits; in the waiting room, it shows the
// self-view so the patient can check the camera. All its words are here, in
// plain language, in English and Danish.

import { startPage } from './ui.js';

/** @type {{en: import('./ui.js').PageStrings, da: import('./ui.js').PageStrings}} */
const strings = {
  en: {
    lang: 'en',
    locale: 'en-GB',
    title: 'Your video visit',
    text: {
      heading: 'Your video visit',
      mic: 'Microphone',
      camera: 'Camera',
      leave: 'Leave',
      self: 'You',
      selfOff: 'Camera off',
      empty: 'Waiting for the clinic to join… Please stay on this page.',
      replyTitle: 'Cannot come, or need another time?',
      replyCannotCome: 'I cannot come',
      replyNewTime: 'I would like another time',
    },
    check: {
      entry: 'Test your camera, sound and connection',
      title: 'Test your camera, sound and connection',
      intro: 'This takes about half a minute. The clinic sees the result, so they know what to expect.',
      running: 'Checking…',
      close: 'Close the test',
      again: 'Test again',
      steps: { camera: 'Camera', microphone: 'Microphone', speaker: 'Sound', udp: 'Connection (UDP)', tcp: 'Connection (TCP)', relay: 'Connection through the relay server (TURN)', speed: 'Speed' },
      verdictWords: { pass: 'OK', warn: 'Check this', fail: 'Does not work', skip: 'Not needed' },
      say: {
        'camera-pass': 'We can see the picture from your camera.',
        'camera-dark': 'The camera started but shows no picture. Close other apps that use the camera, and try again.',
        'camera-denied': 'Allow the camera in the browser settings, then press "Test again".',
        'camera-none': 'We found no camera. Use a phone, tablet or computer with a camera, or the visit will be sound only.',
        'camera-error': 'The camera could not start. Close other apps that use it, and try again.',
        'microphone-speak': 'Say something out loud…',
        'microphone-pass': 'We can hear your microphone.',
        'microphone-unheard': 'The browser did not let us listen yet. Press "Test again" to test the microphone.',
        'microphone-quiet': 'We heard nothing. Check that the microphone is not muted, and speak up.',
        'microphone-denied': 'Allow the microphone in the browser settings, then press "Test again".',
        'microphone-none': 'We found no microphone. Use a device with a microphone or a headset.',
        'speaker-ask': 'We are playing a short tone. Did you hear it?',
        'speaker-pass': 'Your sound works.',
        'speaker-skipped': 'No answer, so we went on. Press "Test again" to try the sound.',
        'speaker-fail': 'Turn the volume up, check the mute switch or headphones, and press "Play the tone" again next time.',
        'udp-pass': 'Your device reaches the clinic the fastest way.',
        'udp-fail': 'The fastest way is blocked on this network. The visit can still work the other ways below.',
        'udp-none': 'Not needed.',
        'tcp-pass': 'Your device reaches the clinic the second way too.',
        'tcp-fail': 'The second way is blocked on this network.',
        'tcp-none': 'Not needed: the clinic does not offer this way.',
        'relay-pass': 'Your device reaches the clinic through the relay server.',
        'relay-fail': 'The relay server could not be reached from this network.',
        'relay-none': 'Not needed: the clinic has no relay server configured.',
        'speed-pass': 'Fast enough for video.',
        'speed-slow': 'Too slow for video; sound will likely work.',
        'speed-none': 'Not measured: your device did not reach the clinic.',
      },
      micLabel: 'Microphone level',
      play: 'Play the tone',
      heard: 'I heard it',
      notHeard: 'I did not hear it',
      speed: '{down} kbit/s down, {up} kbit/s up.',
      overall: { ready: 'Ready for video', 'audio-only': 'Sound only is likely', 'no-connection': 'The visit will not connect from here' },
      advice: {
        ready: 'Everything works. Open this link again when the visit starts.',
        'audio-only': 'The connection or camera is not good enough for video, but sound will likely work. Move closer to your Wi-Fi, or try another network.',
        'no-connection': 'Your device could not reach the clinic from this network. Try another network (for example mobile data instead of Wi-Fi), or call the clinic: {phone}.',
      },
      saved: 'The clinic has your result.',
      notSaved: 'Your result could not be sent to the clinic. You can still join the visit.',
    },
    reply: {
      confirm: 'Press again to send',
      sent: {
        'cannot-come': 'The clinic has your message that you cannot come. They will contact you about a new time.',
        'new-time': 'The clinic has your message that you would like another time. They will contact you.',
      },
      failed: 'Your message could not be sent. Try again, or call the clinic.',
    },
    greeting: 'Hello, {name}',
    contact: 'Questions or problems? Call {clinic}:',
    closedNow: 'The clinic is closed now; what you send is seen when it opens.',
    readingsWatched: 'The clinic sees your measurements during its opening hours. This is not an alarm service: if you are acutely ill, call 112.',
    readingsUnwatched: 'Your measurements are not being watched by the clinic right now – call 112 if you are acutely ill.',
    callAction: 'Call {phone}',
    status: {
      idle: 'Getting ready…',
      checking: 'Checking your video visit…',
      unreachable: 'We cannot reach the clinic right now. Check that Wi-Fi or mobile data is on. Trying again…',
      early: 'Your video visit with {clinician} starts {start}. You can come in from {opens}. Keep this page open, or come back then.',
      earlyAnon: 'Your video visit starts {start}. You can come in from {opens}. Keep this page open, or come back then.',
      moved: 'Your video visit with {clinician} was moved. It now starts {start}; you can come in from {opens}. This link still works.',
      movedAnon: 'Your video visit was moved. It now starts {start}; you can come in from {opens}. This link still works.',
      waiting: 'You are in the waiting room. {clinician} will let you in shortly. Keep this page open.',
      waitingAnon: 'You are in the waiting room. The clinic will let you in shortly. Keep this page open.',
      connecting: 'Connecting to your video visit…',
      'in-call': 'You are in the video visit.',
      reconnecting: 'The connection is weak. Reconnecting… Please wait.',
      ended: 'The video visit has ended.',
      expired: 'This link has expired.',
      error: 'Something went wrong.',
    },
    when: { today: 'at {time}', other: 'on {day} at {time}' },
    explain: {
      'camera-denied': {
        title: 'The camera and microphone are not allowed',
        text:
          'Your browser has blocked the camera and microphone for this page. To allow them: ' +
          'tap the lock symbol next to the web address at the top of the screen, choose ' +
          '"Permissions" or "Site settings", and allow Camera and Microphone. Then tap "Try again". ' +
          'You can also join with sound only, or without camera and microphone.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      'no-camera': {
        title: 'No camera was found',
        text:
          'We could not find a camera or a microphone on this device. You can join with sound ' +
          'only, or join without camera and microphone and still see and hear the others.',
        actions: ['audioOnly', 'noMedia', 'retry'],
      },
      'camera-in-use': {
        title: 'The camera is busy',
        text:
          'Another app is using the camera or microphone. Close the other app (for example ' +
          'another video call) and tap "Try again".',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      unsupported: {
        title: 'This browser cannot make video calls',
        text:
          'Please open the link in a recent version of Chrome, Safari, Firefox or Edge. ' +
          'The web address must start with https.',
        actions: ['noMedia'],
      },
      media: {
        title: 'The camera could not start',
        text:
          'Something stopped the camera or microphone. Tap "Try again". If it still does not ' +
          'work, you can join with sound only, or without camera and microphone.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      refused: {
        title: 'This link is not valid or has expired',
        text:
          'We could not open your video visit with this link. Check that you opened the whole ' +
          'link from your invitation and that your internet works, then tap "Try again". ' +
          'If it still does not work, please call the clinic for a new link.',
        actions: ['retry'],
      },
      expired: {
        title: 'This visit has ended or the link is no longer valid',
        text: 'Call the clinic if you need help.',
        actions: [],
      },
      'visit-expired': {
        title: 'The time of this link is over',
        text: 'The video visit this link was for is over. If you still need to see the clinic, call to get a new time.',
        actions: [],
      },
      'visit-ended': {
        title: 'Your video visit has ended',
        text: 'Thank you for coming. If you have questions after the visit, call the clinic.',
        actions: [],
      },
      'visit-cancelled': {
        title: 'This video visit was cancelled',
        text: 'The clinic cancelled this visit, so the link no longer opens it. Call the clinic if you need a new time.',
        actions: [],
      },
      'visit-invalid': {
        title: 'This link does not work',
        text: 'The link is not complete, or it is no longer in use. Open the whole link from your invitation, or call the clinic for a new one.',
        actions: [],
      },
      lost: {
        title: 'The connection was lost',
        text:
          'We could not reach the clinic for a while. Check that Wi-Fi or mobile data is on, ' +
          'then tap "Try again".',
        actions: ['retry'],
      },
      busy: {
        title: 'The clinic is very busy right now',
        text: 'The video service cannot start your visit at this moment. Wait a minute, then tap "Try again". If it keeps happening, call the clinic.',
        actions: ['retry'],
      },
      'room-full': {
        title: 'The video visit is full',
        text: 'There is no room for more people in this video visit. Please call the clinic.',
        actions: ['retry'],
      },
      version: {
        title: 'Please reload the page',
        text: 'The clinic has updated its system. Tap "Reload" to continue.',
        actions: ['reload'],
      },
      error: {
        title: 'Something went wrong',
        text: 'Tap "Try again". If it still does not work, please call the clinic.',
        actions: ['retry'],
      },
      hangup: {
        title: 'You have left the video visit',
        text: 'If you left by mistake, tap "Join again". Otherwise you can close this page.',
        actions: ['joinAgain'],
      },
      replaced: {
        title: 'The video visit goes on elsewhere',
        text:
          'You opened the same video visit on another phone, computer or window. ' +
          'To continue here instead, tap "Join again".',
        actions: ['joinAgain'],
      },
      timeout: {
        title: 'The connection was lost',
        text: 'The clinic did not hear from your device for a while. Tap "Join again" to continue.',
        actions: ['joinAgain'],
      },
      ended: {
        title: 'The visit has ended',
        text: 'You can close this page.',
        actions: [],
      },
    },
    actions: {
      retry: 'Try again',
      audioOnly: 'Join with sound only',
      noMedia: 'Join without camera and microphone',
      joinAgain: 'Join again',
      reload: 'Reload',
    },
    on: 'On',
    off: 'Off',
    tileLabel: '{name} ({role})',
    someone: 'Guest',
    reconnecting: 'reconnecting…',
    micOff: 'microphone off',
    camOff: 'camera off',
    tapForSound: 'Tap to start sound',
    quality: { good: 'Good connection', weak: 'Weak connection', 'very-weak': 'Very weak connection' },
    peerQuality: { good: 'good connection', weak: 'weak connection', 'very-weak': 'very weak connection' },
    qualityReasons: { loss: 'sound and picture are being lost', delay: 'long delay', jitter: 'uneven delivery', bandwidth: 'too little bandwidth' },
    uplinkWeak: 'The clinician can still hear you.',
    videoPaused: 'Picture paused: your connection is too weak. You can still hear each other.',
    sharingScreen: 'showing you their screen',
    you: '{name} (you)',
    roles: {
      patient: 'patient',
      relative: 'relative',
      interpreter: 'interpreter',
      clinician: 'health professional',
      doctor: 'doctor',
      nurse: 'nurse',
    },
  },
  da: {
    lang: 'da',
    locale: 'da-DK',
    title: 'Din videokonsultation',
    text: {
      heading: 'Din videokonsultation',
      mic: 'Mikrofon',
      camera: 'Kamera',
      leave: 'Læg på',
      self: 'Dig',
      selfOff: 'Kamera slukket',
      empty: 'Venter på, at klinikken kommer ind… Bliv på denne side.',
      replyTitle: 'Kan du ikke komme, eller har du brug for en anden tid?',
      replyCannotCome: 'Jeg kan ikke komme',
      replyNewTime: 'Jeg vil gerne have en anden tid',
    },
    check: {
      entry: 'Test dit kamera, lyd og forbindelse',
      title: 'Test dit kamera, lyd og forbindelse',
      intro: 'Det tager omkring et halvt minut. Klinikken ser resultatet, så de ved, hvad de kan forvente.',
      running: 'Tester…',
      close: 'Luk testen',
      again: 'Test igen',
      steps: { camera: 'Kamera', microphone: 'Mikrofon', speaker: 'Lyd', udp: 'Forbindelse (UDP)', tcp: 'Forbindelse (TCP)', relay: 'Forbindelse gennem relæserveren (TURN)', speed: 'Hastighed' },
      verdictWords: { pass: 'OK', warn: 'Tjek dette', fail: 'Virker ikke', skip: 'Ikke nødvendig' },
      say: {
        'camera-pass': 'Vi kan se billedet fra dit kamera.',
        'camera-dark': 'Kameraet startede, men viser intet billede. Luk andre apps, der bruger kameraet, og prøv igen.',
        'camera-denied': 'Tillad kameraet i browserens indstillinger, og tryk så på "Test igen".',
        'camera-none': 'Vi fandt intet kamera. Brug en telefon, tablet eller computer med kamera, ellers bliver besøget kun med lyd.',
        'camera-error': 'Kameraet kunne ikke starte. Luk andre apps, der bruger det, og prøv igen.',
        'microphone-speak': 'Sig noget højt…',
        'microphone-pass': 'Vi kan høre din mikrofon.',
        'microphone-unheard': 'Browseren lod os ikke lytte endnu. Tryk på "Test igen" for at teste mikrofonen.',
        'microphone-quiet': 'Vi hørte intet. Tjek at mikrofonen ikke er slået fra, og tal højere.',
        'microphone-denied': 'Tillad mikrofonen i browserens indstillinger, og tryk så på "Test igen".',
        'microphone-none': 'Vi fandt ingen mikrofon. Brug en enhed med mikrofon eller et headset.',
        'speaker-ask': 'Vi afspiller en kort tone. Hørte du den?',
        'speaker-pass': 'Din lyd virker.',
        'speaker-skipped': 'Intet svar, så vi gik videre. Tryk på "Test igen" for at prøve lyden.',
        'speaker-fail': 'Skru op for lyden, tjek lydløs-knappen eller hovedtelefonerne, og tryk på "Afspil tonen" igen næste gang.',
        'udp-pass': 'Din enhed når klinikken ad den hurtigste vej.',
        'udp-fail': 'Den hurtigste vej er spærret på dette netværk. Besøget kan stadig virke ad vejene nedenfor.',
        'udp-none': 'Ikke nødvendig.',
        'tcp-pass': 'Din enhed når også klinikken ad den anden vej.',
        'tcp-fail': 'Den anden vej er spærret på dette netværk.',
        'tcp-none': 'Ikke nødvendig: klinikken tilbyder ikke denne vej.',
        'relay-pass': 'Din enhed når klinikken gennem relæserveren.',
        'relay-fail': 'Relæserveren kunne ikke nås fra dette netværk.',
        'relay-none': 'Ikke nødvendig: klinikken har ingen relæserver sat op.',
        'speed-pass': 'Hurtig nok til video.',
        'speed-slow': 'For langsom til video; lyden vil sandsynligvis virke.',
        'speed-none': 'Ikke målt: din enhed nåede ikke klinikken.',
      },
      micLabel: 'Mikrofonens niveau',
      play: 'Afspil tonen',
      heard: 'Jeg hørte den',
      notHeard: 'Jeg hørte den ikke',
      speed: '{down} kbit/s ned, {up} kbit/s op.',
      overall: { ready: 'Klar til video', 'audio-only': 'Sandsynligvis kun lyd', 'no-connection': 'Besøget kan ikke forbinde herfra' },
      advice: {
        ready: 'Alt virker. Åbn linket igen, når besøget begynder.',
        'audio-only': 'Forbindelsen eller kameraet er ikke god nok til video, men lyden vil sandsynligvis virke. Gå tættere på dit Wi-Fi, eller prøv et andet netværk.',
        'no-connection': 'Din enhed kunne ikke nå klinikken fra dette netværk. Prøv et andet netværk (for eksempel mobildata i stedet for Wi-Fi), eller ring til klinikken: {phone}.',
      },
      saved: 'Klinikken har dit resultat.',
      notSaved: 'Dit resultat kunne ikke sendes til klinikken. Du kan stadig deltage i besøget.',
    },
    reply: {
      confirm: 'Tryk igen for at sende',
      sent: {
        'cannot-come': 'Klinikken har fået din besked om, at du ikke kan komme. De kontakter dig om en ny tid.',
        'new-time': 'Klinikken har fået din besked om, at du gerne vil have en anden tid. De kontakter dig.',
      },
      failed: 'Din besked kunne ikke sendes. Prøv igen, eller ring til klinikken.',
    },
    greeting: 'Hej {name}',
    contact: 'Spørgsmål eller problemer? Ring til {clinic}:',
    closedNow: 'Klinikken er lukket nu; det, du sender, bliver set, når den åbner.',
    readingsWatched: 'Klinikken ser dine målinger i åbningstiden. Det er ikke en alarmtjeneste: ring 112 ved akut sygdom.',
    readingsUnwatched: 'Dine målinger bliver ikke set af klinikken lige nu – ring 112 ved akut sygdom.',
    callAction: 'Ring {phone}',
    status: {
      idle: 'Gør klar…',
      checking: 'Tjekker din videokonsultation…',
      unreachable: 'Vi kan ikke få forbindelse til klinikken lige nu. Tjek, at wi-fi eller mobildata er slået til. Prøver igen…',
      early: 'Din videokonsultation med {clinician} starter {start}. Du kan komme ind fra kl. {opens}. Hold siden åben, eller kom tilbage til den tid.',
      earlyAnon: 'Din videokonsultation starter {start}. Du kan komme ind fra kl. {opens}. Hold siden åben, eller kom tilbage til den tid.',
      moved: 'Din videokonsultation med {clinician} er flyttet. Den starter nu {start}; du kan komme ind fra kl. {opens}. Linket virker stadig.',
      movedAnon: 'Din videokonsultation er flyttet. Den starter nu {start}; du kan komme ind fra kl. {opens}. Linket virker stadig.',
      waiting: 'Du er i venteværelset. {clinician} lukker dig ind om lidt. Hold denne side åben.',
      waitingAnon: 'Du er i venteværelset. Klinikken lukker dig ind om lidt. Hold denne side åben.',
      connecting: 'Forbinder til din videokonsultation…',
      'in-call': 'Du er med i videokonsultationen.',
      reconnecting: 'Forbindelsen er svag. Forbinder igen… Vent venligst.',
      ended: 'Videokonsultationen er slut.',
      expired: 'Linket er udløbet.',
      error: 'Noget gik galt.',
    },
    when: { today: 'kl. {time}', other: '{day} kl. {time}' },
    explain: {
      'camera-denied': {
        title: 'Kamera og mikrofon er ikke tilladt',
        text:
          'Din browser har blokeret kamera og mikrofon for denne side. Sådan giver du lov: ' +
          'tryk på hængelåsen ved siden af webadressen øverst på skærmen, vælg "Tilladelser" ' +
          'eller "Indstillinger for websted", og tillad Kamera og Mikrofon. Tryk derefter på ' +
          '"Prøv igen". Du kan også deltage kun med lyd eller uden kamera og mikrofon.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      'no-camera': {
        title: 'Der blev ikke fundet noget kamera',
        text:
          'Vi kunne ikke finde et kamera eller en mikrofon på denne enhed. Du kan deltage kun ' +
          'med lyd, eller uden kamera og mikrofon og stadig se og høre de andre.',
        actions: ['audioOnly', 'noMedia', 'retry'],
      },
      'camera-in-use': {
        title: 'Kameraet er optaget',
        text:
          'Et andet program bruger kameraet eller mikrofonen. Luk det andet program (for ' +
          'eksempel et andet videoopkald), og tryk på "Prøv igen".',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      unsupported: {
        title: 'Denne browser kan ikke lave videoopkald',
        text:
          'Åbn linket i en nyere udgave af Chrome, Safari, Firefox eller Edge. ' +
          'Webadressen skal begynde med https.',
        actions: ['noMedia'],
      },
      media: {
        title: 'Kameraet kunne ikke starte',
        text:
          'Noget stoppede kameraet eller mikrofonen. Tryk på "Prøv igen". Hvis det stadig ikke ' +
          'virker, kan du deltage kun med lyd eller uden kamera og mikrofon.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      refused: {
        title: 'Linket er ikke gyldigt eller er udløbet',
        text:
          'Vi kunne ikke åbne din videokonsultation med dette link. Tjek, at du har åbnet hele ' +
          'linket fra din invitation, og at dit internet virker, og tryk så på "Prøv igen". ' +
          'Hvis det stadig ikke virker, så ring til klinikken og få et nyt link.',
        actions: ['retry'],
      },
      expired: {
        title: 'Konsultationen er slut, eller linket virker ikke længere',
        text: 'Ring til klinikken, hvis du har brug for hjælp.',
        actions: [],
      },
      'visit-expired': {
        title: 'Linkets tid er forbi',
        text: 'Videokonsultationen, som linket var til, er forbi. Har du stadig brug for klinikken, så ring og få en ny tid.',
        actions: [],
      },
      'visit-ended': {
        title: 'Din videokonsultation er slut',
        text: 'Tak, fordi du kom. Har du spørgsmål efter konsultationen, så ring til klinikken.',
        actions: [],
      },
      'visit-cancelled': {
        title: 'Videokonsultationen er aflyst',
        text: 'Klinikken har aflyst konsultationen, så linket åbner den ikke længere. Ring til klinikken, hvis du har brug for en ny tid.',
        actions: [],
      },
      'visit-invalid': {
        title: 'Linket virker ikke',
        text: 'Linket er ikke helt, eller det bruges ikke længere. Åbn hele linket fra din invitation, eller ring til klinikken og få et nyt.',
        actions: [],
      },
      lost: {
        title: 'Forbindelsen blev afbrudt',
        text:
          'Vi kunne ikke få forbindelse til klinikken i et stykke tid. Tjek, at wi-fi eller ' +
          'mobildata er slået til, og tryk så på "Prøv igen".',
        actions: ['retry'],
      },
      busy: {
        title: 'Klinikken har travlt lige nu',
        text: 'Videotjenesten kan ikke starte din konsultation lige nu. Vent et minut, og tryk så på "Prøv igen". Ring til klinikken, hvis det bliver ved.',
        actions: ['retry'],
      },
      'room-full': {
        title: 'Videokonsultationen er fuld',
        text: 'Der er ikke plads til flere i denne videokonsultation. Ring til klinikken.',
        actions: ['retry'],
      },
      version: {
        title: 'Genindlæs siden',
        text: 'Klinikken har opdateret sit system. Tryk på "Genindlæs" for at fortsætte.',
        actions: ['reload'],
      },
      error: {
        title: 'Noget gik galt',
        text: 'Tryk på "Prøv igen". Hvis det stadig ikke virker, så ring til klinikken.',
        actions: ['retry'],
      },
      hangup: {
        title: 'Du har forladt videokonsultationen',
        text: 'Hvis du gik ud ved en fejl, så tryk på "Deltag igen". Ellers kan du lukke denne side.',
        actions: ['joinAgain'],
      },
      replaced: {
        title: 'Videokonsultationen fortsætter et andet sted',
        text:
          'Du har åbnet den samme videokonsultation på en anden telefon, computer eller i et ' +
          'andet vindue. Tryk på "Deltag igen", hvis du vil fortsætte her.',
        actions: ['joinAgain'],
      },
      timeout: {
        title: 'Forbindelsen blev afbrudt',
        text: 'Klinikken har ikke hørt fra din enhed i et stykke tid. Tryk på "Deltag igen" for at fortsætte.',
        actions: ['joinAgain'],
      },
      ended: {
        title: 'Konsultationen er slut',
        text: 'Du kan lukke denne side.',
        actions: [],
      },
    },
    actions: {
      retry: 'Prøv igen',
      audioOnly: 'Deltag kun med lyd',
      noMedia: 'Deltag uden kamera og mikrofon',
      joinAgain: 'Deltag igen',
      reload: 'Genindlæs',
    },
    on: 'Til',
    off: 'Fra',
    tileLabel: '{name} ({role})',
    someone: 'Gæst',
    reconnecting: 'forbinder igen…',
    micOff: 'mikrofon slukket',
    camOff: 'kamera slukket',
    tapForSound: 'Tryk for at starte lyden',
    quality: { good: 'God forbindelse', weak: 'Svag forbindelse', 'very-weak': 'Meget svag forbindelse' },
    peerQuality: { good: 'god forbindelse', weak: 'svag forbindelse', 'very-weak': 'meget svag forbindelse' },
    qualityReasons: { loss: 'lyd og billede går tabt', delay: 'lang forsinkelse', jitter: 'ujævn levering', bandwidth: 'for lidt båndbredde' },
    uplinkWeak: 'Sundhedspersonen kan stadig høre dig.',
    videoPaused: 'Billedet er sat på pause: din forbindelse er for svag. I kan stadig høre hinanden.',
    sharingScreen: 'viser dig sin skærm',
    you: '{name} (dig)',
    roles: {
      patient: 'patient',
      relative: 'pårørende',
      interpreter: 'tolk',
      clinician: 'sundhedsperson',
      doctor: 'læge',
      nurse: 'sygeplejerske',
    },
  },
};

startPage(strings, { mainRole: 'clinician' });
