// The clinician's call page (/call/<room>, signed in with the session cookie,
// or /call/<room>#t=<token>): every other participant in a grid, the
// self-view, the participant list with roles and states, guests in the
// waiting room with an Admit button, and End visit. All its words are here,
// in English and Danish.

import { startPage } from './ui.js';

/** @type {{en: import('./ui.js').PageStrings, da: import('./ui.js').PageStrings}} */
const strings = {
  en: {
    lang: 'en',
    locale: 'en-GB',
    title: 'Video consultation',
    text: {
      heading: 'Video consultation',
      mic: 'Microphone',
      camera: 'Camera',
      leave: 'Leave',
      self: 'You',
      selfOff: 'Camera off',
      empty: 'Waiting for the patient to join…',
      participants: 'Participants',
      endVisit: 'End visit',
      dayList: 'Day list',
      patientPage: "The patient's readings and limits",
    },
    confirmEnd: 'Press again to end the visit for everyone',
    shareScreen: 'Share screen',
    stopScreen: 'Stop sharing',
    sharingScreen: 'sharing a screen',
    admit: 'Admit',
    admitLabel: 'Admit {name}',
    inWaitingRoom: 'in the waiting room',
    emptyWaiting: '{name} is in the waiting room. Admit them from the participant list.',
    greeting: 'Signed in as {name}',
    status: {
      idle: 'Getting ready…',
      checking: 'Checking the appointment…',
      unreachable: 'The server cannot be reached. Trying again…',
      early: 'Before the appointment time.',
      waiting: 'In the waiting room.',
      connecting: 'Connecting…',
      'in-call': 'In the consultation.',
      reconnecting: 'Connection interrupted. Reconnecting…',
      ended: 'The consultation has ended.',
      expired: 'This link has expired.',
      error: 'Something went wrong.',
    },
    explain: {
      'camera-denied': {
        title: 'Camera and microphone blocked',
        text:
          'The browser has blocked the camera and microphone for this site. Allow them with ' +
          'the camera or lock icon in the address bar (site settings), then choose "Try again"; ' +
          'or join with sound only, or without camera and microphone.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      'no-camera': {
        title: 'No camera found',
        text: 'No camera or microphone was found on this device. Connect one and try again, or join without.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      'camera-in-use': {
        title: 'Camera in use',
        text: 'Another application is using the camera or microphone. Close it and try again.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      unsupported: {
        title: 'Browser not supported',
        text: 'Use a recent Chrome, Edge, Firefox or Safari over https.',
        actions: ['noMedia'],
      },
      media: {
        title: 'Camera could not start',
        text: 'The camera or microphone failed to start. Try again, or join with sound only or without.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      refused: {
        title: 'This link is not valid or has expired',
        text:
          'The server did not accept this link, or could not be reached. Open the consultation ' +
          'again from your day list, or try again.',
        actions: ['retry', 'dayList'],
      },
      expired: {
        title: 'This link is not valid or has expired',
        text: 'Open the consultation again from your day list to get a fresh link.',
        actions: ['dayList'],
      },
      lost: {
        title: 'Connection lost',
        text: 'The server could not be reached for two minutes. Check the network and try again.',
        actions: ['retry'],
      },
      busy: {
        title: 'The video service is at capacity',
        text: 'This server takes no new consultations for now. Try again in a minute; tell the operations team if it keeps happening.',
        actions: ['retry'],
      },
      'room-full': {
        title: 'The consultation is full',
        text: 'The room has its maximum number of participants.',
        actions: ['retry'],
      },
      version: {
        title: 'Reload needed',
        text: 'The server was updated. Reload the page to continue.',
        actions: ['reload'],
      },
      error: {
        title: 'Something went wrong',
        text: 'Try again. If the problem persists, contact support.',
        actions: ['retry'],
      },
      hangup: {
        title: 'You have left the consultation',
        text: 'The others can carry on. Join again if you left by mistake.',
        actions: ['joinAgain', 'dayList'],
      },
      replaced: {
        title: 'Continued elsewhere',
        text: 'You joined this consultation from another device or window.',
        actions: ['joinAgain'],
      },
      timeout: {
        title: 'Connection lost',
        text: 'The server heard nothing from this browser for too long.',
        actions: ['joinAgain'],
      },
      ended: {
        title: 'The visit has ended',
        text: 'The visit was ended for everyone.',
        actions: ['dayList'],
      },
    },
    actions: {
      retry: 'Try again',
      audioOnly: 'Join with sound only',
      noMedia: 'Join without camera and microphone',
      joinAgain: 'Join again',
      reload: 'Reload',
      dayList: 'Back to the day list',
    },
    on: 'On',
    off: 'Off',
    tileLabel: '{name} ({role})',
    someone: 'Guest',
    reconnecting: 'reconnecting…',
    micOff: 'microphone off',
    camOff: 'camera off',
    tapForSound: 'Click to start sound',
    quality: { good: 'Good connection', weak: 'Weak connection', 'very-weak': 'Very weak connection' },
    peerQuality: { good: 'good connection', weak: 'weak connection', 'very-weak': 'very weak connection' },
    qualityReasons: { loss: 'sound and picture are being lost', delay: 'long delay', jitter: 'uneven delivery', bandwidth: 'too little bandwidth' },
    uplinkWeak: 'The patient can still hear you.',
    videoPaused: 'Video paused: your connection is too weak. The sound goes on.',
    you: '{name} (you)',
    roles: {
      patient: 'patient',
      relative: 'relative',
      interpreter: 'interpreter',
      clinician: 'clinician',
      doctor: 'doctor',
      nurse: 'nurse',
    },
  },
  da: {
    lang: 'da',
    locale: 'da-DK',
    title: 'Videokonsultation',
    text: {
      heading: 'Videokonsultation',
      mic: 'Mikrofon',
      camera: 'Kamera',
      leave: 'Forlad',
      self: 'Dig',
      selfOff: 'Kamera slukket',
      empty: 'Venter på, at patienten kommer ind…',
      participants: 'Deltagere',
      endVisit: 'Afslut konsultation',
      dayList: 'Dagsliste',
      patientPage: 'Patientens målinger og grænser',
    },
    confirmEnd: 'Tryk igen for at afslutte for alle',
    shareScreen: 'Del skærm',
    stopScreen: 'Stop deling',
    sharingScreen: 'deler sin skærm',
    admit: 'Lad komme ind',
    admitLabel: 'Lad {name} komme ind',
    inWaitingRoom: 'i venteværelset',
    emptyWaiting: '{name} er i venteværelset. Lad vedkommende komme ind fra deltagerlisten.',
    greeting: 'Logget ind som {name}',
    status: {
      idle: 'Gør klar…',
      checking: 'Tjekker aftalen…',
      unreachable: 'Serveren kan ikke nås. Prøver igen…',
      early: 'Før konsultationens tidspunkt.',
      waiting: 'I venteværelset.',
      connecting: 'Forbinder…',
      'in-call': 'I konsultationen.',
      reconnecting: 'Forbindelsen er afbrudt. Forbinder igen…',
      ended: 'Konsultationen er slut.',
      expired: 'Linket er udløbet.',
      error: 'Noget gik galt.',
    },
    explain: {
      'camera-denied': {
        title: 'Kamera og mikrofon er blokeret',
        text:
          'Browseren har blokeret kamera og mikrofon for dette websted. Tillad dem via kamera- ' +
          'eller hængelåsikonet i adresselinjen (webstedsindstillinger), og vælg "Prøv igen"; ' +
          'eller deltag kun med lyd eller uden kamera og mikrofon.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      'no-camera': {
        title: 'Intet kamera fundet',
        text: 'Der blev ikke fundet et kamera eller en mikrofon. Tilslut en og prøv igen, eller deltag uden.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      'camera-in-use': {
        title: 'Kameraet er optaget',
        text: 'Et andet program bruger kameraet eller mikrofonen. Luk det, og prøv igen.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      unsupported: {
        title: 'Browseren understøttes ikke',
        text: 'Brug en nyere Chrome, Edge, Firefox eller Safari over https.',
        actions: ['noMedia'],
      },
      media: {
        title: 'Kameraet kunne ikke starte',
        text: 'Kamera eller mikrofon kunne ikke starte. Prøv igen, eller deltag kun med lyd eller uden.',
        actions: ['retry', 'audioOnly', 'noMedia'],
      },
      refused: {
        title: 'Linket er ikke gyldigt eller er udløbet',
        text:
          'Serveren godtog ikke linket eller kunne ikke nås. Åbn konsultationen igen fra din ' +
          'dagsliste, eller prøv igen.',
        actions: ['retry', 'dayList'],
      },
      expired: {
        title: 'Linket er ikke gyldigt eller er udløbet',
        text: 'Åbn konsultationen igen fra din dagsliste for at få et nyt link.',
        actions: ['dayList'],
      },
      lost: {
        title: 'Forbindelsen blev afbrudt',
        text: 'Serveren kunne ikke nås i to minutter. Tjek netværket, og prøv igen.',
        actions: ['retry'],
      },
      busy: {
        title: 'Videotjenesten er fuldt belastet',
        text: 'Serveren tager ikke imod nye konsultationer lige nu. Prøv igen om et minut; sig det til driften, hvis det bliver ved.',
        actions: ['retry'],
      },
      'room-full': {
        title: 'Konsultationen er fuld',
        text: 'Rummet har det største antal deltagere.',
        actions: ['retry'],
      },
      version: {
        title: 'Siden skal genindlæses',
        text: 'Serveren er opdateret. Genindlæs siden for at fortsætte.',
        actions: ['reload'],
      },
      error: {
        title: 'Noget gik galt',
        text: 'Prøv igen. Kontakt support, hvis problemet fortsætter.',
        actions: ['retry'],
      },
      hangup: {
        title: 'Du har forladt konsultationen',
        text: 'De andre kan fortsætte. Deltag igen, hvis du gik ud ved en fejl.',
        actions: ['joinAgain', 'dayList'],
      },
      replaced: {
        title: 'Fortsat et andet sted',
        text: 'Du har åbnet konsultationen på en anden enhed eller i et andet vindue.',
        actions: ['joinAgain'],
      },
      timeout: {
        title: 'Forbindelsen blev afbrudt',
        text: 'Serveren har ikke hørt fra denne browser i for lang tid.',
        actions: ['joinAgain'],
      },
      ended: {
        title: 'Konsultationen er slut',
        text: 'Konsultationen er afsluttet for alle.',
        actions: ['dayList'],
      },
    },
    actions: {
      retry: 'Prøv igen',
      audioOnly: 'Deltag kun med lyd',
      noMedia: 'Deltag uden kamera og mikrofon',
      joinAgain: 'Deltag igen',
      reload: 'Genindlæs',
      dayList: 'Tilbage til dagslisten',
    },
    on: 'Til',
    off: 'Fra',
    tileLabel: '{name} ({role})',
    someone: 'Gæst',
    reconnecting: 'forbinder igen…',
    micOff: 'mikrofon slukket',
    camOff: 'kamera slukket',
    tapForSound: 'Klik for at starte lyden',
    quality: { good: 'God forbindelse', weak: 'Svag forbindelse', 'very-weak': 'Meget svag forbindelse' },
    peerQuality: { good: 'god forbindelse', weak: 'svag forbindelse', 'very-weak': 'meget svag forbindelse' },
    qualityReasons: { loss: 'lyd og billede går tabt', delay: 'lang forsinkelse', jitter: 'ujævn levering', bandwidth: 'for lidt båndbredde' },
    uplinkWeak: 'Patienten kan stadig høre dig.',
    videoPaused: 'Billedet er sat på pause: din forbindelse er for svag. Lyden fortsætter.',
    you: '{name} (dig)',
    roles: {
      patient: 'patient',
      relative: 'pårørende',
      interpreter: 'tolk',
      clinician: 'behandler',
      doctor: 'læge',
      nurse: 'sygeplejerske',
    },
  },
};

startPage(strings, { staff: true });
